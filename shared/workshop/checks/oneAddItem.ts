import {
  capture,
  type Delivery,
  type Envelope,
  entity,
  newMessageId,
  UnitOfWork,
} from '@pierogi/shared';

/**
 * The one AddItem whose two copies the checks' explorations run through an exercise's strategy
 * class (checks 13 and 19), and the handler they run it with.
 */

/** The state of the order in those explorations: how many items it holds. */
export type Counter = { items: number };

export const MESSAGE: Envelope = {
  id: 'add-item-1',
  type: 'AddItem',
  body: { orderId: 'o-1', filling: 'Meat' },
  headers: {
    conversationId: 'c-1',
    causationId: undefined,
    sendingEndpoint: 'frontend',
    sentAt: '2026-01-01T00:00:00.000Z',
    deliveryCount: 1,
    custom: {},
  },
};

/** A delivery of {@link MESSAGE}, fresh for each attempt. */
export function deliveryOfMessage(): Delivery {
  return { message: MESSAGE, work: new UnitOfWork(MESSAGE) };
}

/** The handler: one item more, one ItemAdded — with a new id each time it runs. */
export async function addOneItem(delivery: Delivery): Promise<void> {
  entity<Counter>(delivery).state.items++;
  capture(delivery, {
    message: { ...MESSAGE, id: newMessageId(), type: 'ItemAdded' },
    destination: { kind: 'publish', type: 'ItemAdded' },
  });
}

import type { Envelope, HandlerContext, OutgoingOperation } from '@pierogi/shared';
import type { Entities, ShopContext } from '@pierogi/shop';

/**
 * Kept in the entity's document, by incoming message id:
 *   absent — not processed;
 *   a list — processed, and these messages may not be out yet;
 *   null   — processed, and its messages are out.
 */
export type Outbox = Record<string, OutgoingOperation[] | null>;

/** Which entity a message is about, and its state before the first message. */
export interface EntityOf<T> {
  readonly idOf: (message: Envelope) => string;
  readonly initial: (message: Envelope) => T;
}

const STATE = Symbol('the state the handler works on');

/** The state of the entity the message is about: change it in place, the outbox stores it. */
export function current<T>(context: HandlerContext): T {
  const state = context.items.get(STATE);
  if (state === undefined) throw new Error('no state: is the outbox installed on this endpoint?');
  return state as T;
}

/**
 * Installs the outbox on the endpoint: each handler runs on the state of one entity, loaded
 * before it and stored after it, and what it sends leaves only once the state is stored.
 */
export function useOutbox<T>(shop: ShopContext, entities: Entities<T>, entity: EntityOf<T>): void {
  shop.endpoint.use({
    incoming: async (context, next) => {
      const { message } = context;
      const id = entity.idOf(message);
      const { value, version } = await entities.load(id);
      const doc = (value ?? entity.initial(message)) as T & { outbox?: Outbox };
      // 👉 1. `doc.outbox?.[message.id]` is null: a duplicate. Tell the page
      //       (`shop.duplicate(context, 'its messages are out already')`) and return.
      // 👉 2. It is absent: keep what the handler sends instead of sending it —
      //       `const messages = startCapturing(context)` (from @pierogi/shared) before `next()`,
      //       and `outgoing: captureOutgoing` below.
      context.items.set(STATE, doc);
      await next(); // today what the handler sends leaves at once, before the state is stored
      // 👉 3. Store the state and `doc.outbox[message.id] = messages` in this one save.
      await entities.save(id, doc, version);
      // 👉 4. Send them: `await shop.endpoint.dispatch(messages)` (they keep their ids), then
      //       set the entry to null and save again (with the version the first save returned).
      // 👉 5. It is a list: an attempt stored it and failed before the end. Skip the handler,
      //       and go on from step 4.
      // 🤔 Why null, rather than deleting the entry?
    },
  });
}

/** The order a message of the shop is about. */
export function orderIdOf(message: Envelope): string {
  return (message.body as { orderId: string }).orderId;
}

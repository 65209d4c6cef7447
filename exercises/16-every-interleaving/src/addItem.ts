import { randomUUID } from 'node:crypto';
import type { AddItemHandler, ItemAddedMessage, OrderDocument } from './addItemStores.ts';
import { ORDERS } from './addItemStores.ts';

/**
 * The orders endpoint's AddItem handler with an outbox in the order document and an inbox beside
 * it — the algorithm of exercise 13, written out step by step. Each step is one store operation,
 * named for the explorer:
 *
 *   check inbox → load order → save order + outbox → publish ItemAdded → mark inbox → clear outbox
 *
 * A save with a stale version throws `ConcurrencyError` (the other copy saved first); the
 * delivery fails and is tried again, from the top.
 */
export const addItem: AddItemHandler = async (stores, message, steps) => {
  // 🤔 The inbox is asked first, and the order loaded after: is "not processed" still true by then?
  const processed = await steps.around('check inbox', message, () => stores.inbox.has(message.id));
  const { value, version } = await steps.around('load order', message, () =>
    stores.orders.load(ORDERS, message.orderId),
  );
  let order: OrderDocument = value ?? { lines: [], outbox: {} };

  if (processed) {
    // Processed: an outbox entry a crash left behind goes now.
    if (order.outbox[message.id]) {
      await steps.around('clear outbox', message, () =>
        stores.orders.save(ORDERS, message.orderId, withoutEntry(order, message.id), version),
      );
    }
    return;
  }

  let current = version;
  let entry = order.outbox[message.id];
  if (!entry) {
    // The change and the message it causes, in one write: the id is chosen once, here.
    entry = { id: randomUUID(), orderId: message.orderId, filling: message.filling };
    order = {
      lines: [...order.lines, message.filling],
      outbox: { ...order.outbox, [message.id]: entry },
    };
    const saved = order;
    current = await steps.around('save order + outbox', message, () =>
      stores.orders.save(ORDERS, message.orderId, saved, version),
    );
  }
  const outgoing: ItemAddedMessage = entry;
  await steps.around('publish ItemAdded', message, async () => {
    stores.published.push(outgoing);
  });
  await steps.around('mark inbox', message, () => stores.inbox.mark(message.id));
  const cleared = withoutEntry(order, message.id);
  await steps.around('clear outbox', message, () =>
    stores.orders.save(ORDERS, message.orderId, cleared, current),
  );
};

function withoutEntry(order: OrderDocument, messageId: string): OrderDocument {
  const { [messageId]: _sent, ...outbox } = order.outbox;
  return { lines: order.lines, outbox };
}

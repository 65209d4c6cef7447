import {
  type Accepted,
  AddItem,
  accepted,
  type CustomerIntents,
  type FrontendContext,
  RemoveItem,
  SubmitOrder,
} from '@pierogi/shop';

/**
 * The web tier: each customer request becomes a command. The browser sends an id with every
 * request (`requestId`, from the `idempotency-key` header) and sends the same id again when it
 * retries a request whose answer it did not get.
 *
 * It runs once when the frontend starts (it may wait for a table to be created first), and
 * returns what each request does. An answer is an `Accepted`: `{ messageId, conversationId }`.
 */
export async function frontend(shop: FrontendContext): Promise<CustomerIntents> {
  // 👉 Create the table you need here, in `shop.pool` (the shop's own schema):
  //    `await shop.pool.query('create table if not exists …')`.
  return {
    // 👉 A retry must not send a second AddItem: the first one may have been sent before the
    //    answer got lost. Record each requestId with the message id it sends; on a retry, answer
    //    with that message (an `Accepted` built from the recorded ids) instead of sending a new one.
    //    `randomUUID()` from 'node:crypto' makes a new id.
    addItem: async ({ orderId, filling, requestId }): Promise<Accepted> => {
      void requestId; // 👉 not used yet: every request sends a new AddItem
      return accepted(await shop.endpoint.send(AddItem, { orderId, filling }));
    },
    removeItem: async ({ orderId, filling }) =>
      accepted(await shop.endpoint.send(RemoveItem, { orderId, filling })),
    submitOrder: async ({ orderId }) =>
      accepted(await shop.endpoint.send(SubmitOrder, { orderId })),
  };
}

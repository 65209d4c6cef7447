import {
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
 */
export function frontend(shop: FrontendContext): CustomerIntents {
  return {
    // 👉 A retry must not send a second AddItem: the first one may have been sent before the
    //    answer got lost. Record each requestId with the message id it sends (a table in
    //    `shop.pool`); on a retry, answer with that message instead of sending a new one.
    addItem: async ({ orderId, filling }) =>
      accepted(await shop.endpoint.send(AddItem, { orderId, filling })),
    removeItem: async ({ orderId, filling }) =>
      accepted(await shop.endpoint.send(RemoveItem, { orderId, filling })),
    submitOrder: async ({ orderId }) =>
      accepted(await shop.endpoint.send(SubmitOrder, { orderId })),
  };
}

import { deterministicId, type SendOptions } from '@pierogi/shared';
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
 * request (`requestId`, from the `idempotency-key` header) and the same id again when it retries.
 * The command's ids are derived from it: a retry sends the same message, with the same id, and
 * the inbox of `orders` drops the copy. Nothing to store here (compare exercise 03).
 */
export function frontend(shop: FrontendContext): CustomerIntents {
  /** The same request (the same key, the same command and body) gives the same ids. */
  const idsOf = (requestId: string | undefined, command: string, body: object): SendOptions => {
    if (requestId === undefined) return {}; // no key: every request is a new one
    const request = `${command} ${JSON.stringify(body)}`;
    return {
      id: deterministicId(requestId, 'frontend', request),
      conversationId: deterministicId(requestId, 'frontend', `conversation of ${request}`),
    };
  };

  return {
    addItem: async ({ orderId, filling, requestId }) => {
      const body = { orderId, filling };
      return accepted(await shop.endpoint.send(AddItem, body, idsOf(requestId, 'AddItem', body)));
    },
    removeItem: async ({ orderId, filling, requestId }) => {
      const body = { orderId, filling };
      const options = idsOf(requestId, 'RemoveItem', body);
      return accepted(await shop.endpoint.send(RemoveItem, body, options));
    },
    submitOrder: async ({ orderId, requestId }) => {
      const body = { orderId };
      const options = idsOf(requestId, 'SubmitOrder', body);
      return accepted(await shop.endpoint.send(SubmitOrder, body, options));
    },
  };
}

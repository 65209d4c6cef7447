import { randomUUID } from 'node:crypto';
import type { Envelope, SendOptions } from '@pierogi/shared';
import {
  type Accepted,
  AddItem,
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
export async function frontend(shop: FrontendContext): Promise<CustomerIntents> {
  await shop.pool.query(`create table if not exists requests (
    request_id text primary key,
    message_id text not null,
    conversation_id text not null,
    sent boolean not null default false
  )`);

  /**
   * Each request is recorded, with the ids of the command it causes, before the command is
   * sent. A retry finds the record: if the command went out, it gets the same answer and
   * nothing is sent; if the first attempt died before sending, the command is sent now — with
   * the ids recorded, so it is the same command.
   */
  async function once(
    requestId: string | undefined,
    send: (options: SendOptions) => Promise<Envelope>,
  ): Promise<Accepted> {
    if (requestId === undefined) return answer(await send({}));
    await shop.pool.query(
      `insert into requests (request_id, message_id, conversation_id) values ($1, $2, $3)
       on conflict do nothing`,
      [requestId, randomUUID(), randomUUID()],
    );
    const { rows } = await shop.pool.query<{
      message_id: string;
      conversation_id: string;
      sent: boolean;
    }>('select message_id, conversation_id, sent from requests where request_id = $1', [requestId]);
    const row = rows[0] as { message_id: string; conversation_id: string; sent: boolean };
    const recorded = { messageId: row.message_id, conversationId: row.conversation_id };
    if (row.sent) return recorded;
    await send({ id: recorded.messageId, conversationId: recorded.conversationId });
    await shop.pool.query('update requests set sent = true where request_id = $1', [requestId]);
    return recorded;
  }

  return {
    addItem: ({ orderId, filling, requestId }) =>
      once(requestId, (options) => shop.endpoint.send(AddItem, { orderId, filling }, options)),
    removeItem: ({ orderId, filling, requestId }) =>
      once(requestId, (options) => shop.endpoint.send(RemoveItem, { orderId, filling }, options)),
    submitOrder: ({ orderId, requestId }) =>
      once(requestId, (options) => shop.endpoint.send(SubmitOrder, { orderId }, options)),
  };
}

function answer(message: Envelope): Accepted {
  return { messageId: message.id, conversationId: message.headers.conversationId };
}

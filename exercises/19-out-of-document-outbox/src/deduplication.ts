import {
  type DocumentStrategy,
  type DocumentStrategyOptions,
  type Envelope,
  type OutgoingMiddleware,
  PgTokenStore,
  type Subscribers,
  TokenBased,
  type TokenStore,
  tokenSender,
} from '@pierogi/shared';
import type { Entities, ShopContext } from '@pierogi/shop';

/**
 * How each endpoint of the shop recognises a copy of a message it processed.
 *
 * Token-based (the library's `TokenBased`): the sender of each message creates a token per
 * receiver before it sends; a receiver processes a message only while its token exists, and
 * deletes it when done. A copy finds no token: a duplicate. The documents keep nothing of the
 * messages they processed (an outbox entry only while its messages leave), and the tokens are
 * as many as the messages in flight.
 */
export function deduplication<S extends object>(
  options: DocumentStrategyOptions<S>,
  tokens: TokenStore,
  subscribers: Subscribers,
): DocumentStrategy<S, object, string> {
  return new TokenBased<S>({ ...options, tokens, subscribers });
}

/**
 * The frontend's outgoing middleware: each command's token is created before it leaves (a
 * receiver takes a message only while its token exists).
 */
export function sending(tokens: TokenStore, subscribers: Subscribers): OutgoingMiddleware[] {
  return [tokenSender(tokens, { subscribers })];
}

/** Who receives each event the shop publishes: a token-based sender makes a token for each. */
export const SUBSCRIBERS: Subscribers = {
  ItemAdded: ['billing'],
  ItemRemoved: ['billing'],
  OrderSubmitted: ['billing'],
  FirstItemAdded: ['marketing'],
};

/** The shop's tokens: one table in its database, for every endpoint. */
export async function tokenStore(pool: ShopContext['pool']): Promise<TokenStore> {
  const tokens = new PgTokenStore(pool, 'tokens');
  await tokens.install();
  return tokens;
}

/** Which entity a message is about, and its state before the first message. */
export interface EntityOf<S> {
  readonly idOf: (message: Envelope) => string;
  readonly initial: (message: Envelope) => S;
}

/**
 * 👉 3. Once `OutOfDocumentOutbox` (src/outOfDocumentOutbox.ts) keeps its messages outside the
 *    document, install it here instead of the tokens, with a `PgOutboxStore` (table
 *    `outbox_records`, shared by the endpoints) and a `PgInboxStore` per endpoint (table `inbox`);
 *    the frontend then sends its commands as they are (`sending` returns no middleware).
 *
 * Installs the deduplication on the endpoint. Its documents are `entities`, as each message's
 * unit of work sees them (so chaos rules at `orders.save` can pick the message); its steps go
 * through the chaos monkey.
 */
export async function useDeduplication<S extends object>(
  shop: ShopContext,
  entities: Entities<S>,
  entity: EntityOf<S>,
): Promise<void> {
  deduplication<S>(
    {
      store: entities.forStrategy(),
      locate: (message) => ({ partition: shop.endpoint.name, id: entity.idOf(message) }),
      initial: entity.initial,
      steps: shop.steps,
    },
    await tokenStore(shop.pool),
    SUBSCRIBERS,
  ).use(shop.endpoint);
}

/** The order a message of the shop is about. */
export function orderIdOf(message: Envelope): string {
  return (message.body as { orderId: string }).orderId;
}

import {
  DocumentOutbox,
  type DocumentStrategy,
  type DocumentStrategyOptions,
  type Envelope,
  type OutgoingMiddleware,
  PgTokenStore,
  type Subscribers,
  type TokenStore,
} from '@pierogi/shared';
import type { Entities, ShopContext } from '@pierogi/shop';

/**
 * How each endpoint of the shop recognises a copy of a message it processed.
 *
 * Now: the generic outbox in the document (exercise 12, the library's `DocumentOutbox`). Each
 * message processed leaves `outbox[its id] = null` in the document for ever: that is how a copy
 * is recognised. The shop's documents are in a store with a size limit, as Cosmos DB and
 * DynamoDB have; an order, a bill, and marketing's one document for the whole shop grow with
 * every message until the store refuses them (`DocumentTooLargeError`).
 */
export function deduplication<S extends object>(
  options: DocumentStrategyOptions<S>,
  tokens: TokenStore,
  subscribers: Subscribers,
): DocumentStrategy<S, object, string> {
  // 👉 1. Token-based deduplication instead: the library's `TokenBased`
  //    (shared/src/strategies/tokenBased.ts), with the token store and who subscribes to what.
  // 🤔 What does a receiver keep once it has processed a message? What tells it that the next
  //    copy is a copy?
  void tokens;
  void subscribers;
  return new DocumentOutbox<S>(options);
}

/**
 * The frontend's outgoing middleware: what happens to each command before it leaves.
 *
 * 👉 2. A token-based receiver takes a message only while its token exists, so whoever sends a
 *    message from outside a handler creates its token first: the library's `tokenSender`.
 * 🤔 Why must the sender create the token, and not the receiver when the message arrives?
 */
export function sending(tokens: TokenStore, subscribers: Subscribers): OutgoingMiddleware[] {
  void tokens;
  void subscribers;
  return [];
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

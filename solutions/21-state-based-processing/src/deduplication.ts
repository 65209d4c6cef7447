import { type Envelope, StateBased } from '@pierogi/shared';
import type { Entities, ShopContext } from '@pierogi/shop';

/**
 * How each endpoint of the shop recognises a copy of a message it processed: state-based (the
 * library's `StateBased`). Each document keeps the last messages applied to it, each with the
 * state it found; a copy runs the handler again on that state and sends what it sends — the same
 * messages, because the handlers are deterministic. No outbox, no inbox: only the documents.
 */

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
  /**
   * How many messages each document remembers (default 16): more than can reach one document
   * while a copy of an earlier one is still on its way.
   */
  keep?: number,
): Promise<void> {
  new StateBased<S>({
    ...(keep === undefined ? {} : { keep }),
    store: entities.forStrategy(),
    locate: (message) => ({ partition: shop.endpoint.name, id: entity.idOf(message) }),
    initial: entity.initial,
    steps: shop.steps,
  }).use(shop.endpoint);
}

/** The order a message of the shop is about. */
export function orderIdOf(message: Envelope): string {
  return (message.body as { orderId: string }).orderId;
}

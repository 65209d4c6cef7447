import {
  type Envelope,
  type OutgoingOperation,
  PgInboxStore,
  PgOutboxStore,
} from '@pierogi/shared';
import type { Entities, ShopContext } from '@pierogi/shop';
import { OutOfDocumentOutbox } from './outOfDocumentOutbox.ts';

/**
 * How each endpoint of the shop recognises a copy of a message it processed, and keeps the
 * messages a message caused until they are out: the out-of-document outbox
 * (src/outOfDocumentOutbox.ts). The document holds the state and which transactions are pending;
 * the messages wait in the outbox store; the ids processed are in an inbox store.
 */

/** Which entity a message is about, and its state before the first message. */
export interface EntityOf<S> {
  readonly idOf: (message: Envelope) => string;
  readonly initial: (message: Envelope) => S;
}

/**
 * 👉 1. Two stores besides the documents, and four more writes per message (the record, the
 *    inbox, the record's deletion, the field cleared): install the library's `StateBased`
 *    (shared/src/strategies/stateBased.ts) instead — no outbox, no inbox, only the documents.
 *    🤔 What does it need of the handlers, that the outbox did not?
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
  const outbox = new PgOutboxStore<OutgoingOperation>(shop.pool, 'outbox_records');
  await outbox.install();
  const inbox = new PgInboxStore(shop.pool, shop.endpoint.name);
  await inbox.install();
  new OutOfDocumentOutbox<S>({
    store: entities.forStrategy(),
    locate: (message) => ({ partition: shop.endpoint.name, id: entity.idOf(message) }),
    initial: entity.initial,
    steps: shop.steps,
    outbox,
    inbox,
  }).use(shop.endpoint);
}

/** The order a message of the shop is about. */
export function orderIdOf(message: Envelope): string {
  return (message.body as { orderId: string }).orderId;
}

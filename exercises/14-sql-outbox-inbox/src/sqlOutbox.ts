import { OutboxDispatcher, SqlOutboxInbox } from '@pierogi/shared';
import type { ShopContext } from '@pierogi/shop';

/**
 * Puts the endpoint on the library's SQL outbox + inbox (`SqlOutboxInbox`, in
 * shared/src/strategies/sqlOutboxInbox.ts). Each message is handled in one Postgres transaction:
 * its inbox row first (a message whose row exists is dropped before the handler), then the
 * handler's writes, then a row per message the handler sends. The messages leave after the
 * commit and their rows are deleted.
 *
 * The `OutboxDispatcher` sends what a failure left between the commit and the send (woken by a
 * NOTIFY, or finding it on its next poll), and deletes inbox rows older than a day.
 */
export async function useSqlOutboxInbox(shop: ShopContext): Promise<void> {
  const outbox = new SqlOutboxInbox(shop.pool, shop.endpoint.name, {
    steps: shop.steps,
    // The page's live log shows each copy the inbox drops.
    onDuplicate: (context) => shop.duplicate(context, 'its id is in the inbox'),
  });
  await outbox.install();
  outbox.use(shop.endpoint);

  const dispatcher = new OutboxDispatcher(shop.pool, { [shop.endpoint.name]: outbox });
  await dispatcher.start();
  // It holds a connection (for LISTEN) until stopped.
  shop.onClose(() => dispatcher.stop());
}

import { SqlOutboxInbox } from '@pierogi/shared';
import type { ShopContext } from '@pierogi/shop';

/**
 * Puts the endpoint on the library's SQL outbox + inbox (`SqlOutboxInbox`, in
 * shared/src/strategies/sqlOutboxInbox.ts). Each message is handled in one Postgres transaction:
 * its inbox row first (a message whose row exists is dropped before the handler), then the
 * handler's writes, then a row per message the handler sends. The messages leave after the
 * commit and their rows are deleted.
 */
export async function useSqlOutboxInbox(shop: ShopContext): Promise<void> {
  const outbox = new SqlOutboxInbox(shop.pool, shop.endpoint.name, {
    steps: shop.steps,
    // The page's live log shows each copy the inbox drops.
    onDuplicate: (context) => shop.duplicate(context, 'its id is in the inbox'),
  });
  await outbox.install();
  outbox.use(shop.endpoint);
  // 🤔 (second part) A commit that happened but timed out leaves its outgoing rows in the
  //    outbox. Here only a copy of the same message sends them: it finds its inbox row, and on
  //    the duplicate path sends what the first attempt left. What if no copy comes again?
}

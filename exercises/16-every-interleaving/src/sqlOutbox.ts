import { OutboxDispatcher, SqlOutboxInbox } from '@pierogi/shared';
import type { ShopContext } from '@pierogi/shop';

/**
 * Puts the endpoint on the library's SQL outbox + inbox (`SqlOutboxInbox`, in
 * shared/src/strategies/sqlOutboxInbox.ts). Each message is handled in one Postgres transaction:
 * its inbox row first (a message whose row exists is dropped before the handler), then the
 * handler's writes, then a row per message the handler sends. The messages leave after the
 * commit and their rows are deleted.
 *
 * Who sends a row the commit stored but its attempt did not send (the commit timed out, or the
 * send after it failed):
 * - a copy of the same message, if one comes: it finds its inbox row and, on the duplicate path,
 *   sends the rows its first attempt left;
 * - the `OutboxDispatcher`, whether a copy comes or not: woken by a NOTIFY when a send after a
 *   commit fails, and otherwise finding the rows on its next poll. Nothing else sends the rows
 *   of a message that no copy will come for: one that went to the error queue, say.
 */
export async function useSqlOutboxInbox(shop: ShopContext): Promise<void> {
  const outbox = new SqlOutboxInbox(shop.pool, shop.endpoint.name, {
    steps: shop.steps,
    // The page's live log shows each copy the inbox drops.
    onDuplicate: (context) => shop.duplicate(context, 'its id is in the inbox'),
  });
  await outbox.install();
  outbox.use(shop.endpoint);

  const dispatcher = new OutboxDispatcher(
    shop.pool,
    { [shop.endpoint.name]: outbox },
    {
      // How often it looks for rows nobody announced. It takes only rows at least this old:
      // younger ones are probably being sent by their own attempt right now.
      pollMs: 1_000,
      // Inbox rows older than this are deleted: a copy that comes later is handled again. It
      // must outlive every retry, and the time a message may wait in the error queue before a
      // person sends it back.
      inboxRetentionMs: 24 * 60 * 60 * 1000,
    },
  );
  await dispatcher.start();
  // It holds a connection (for LISTEN) until stopped.
  shop.onClose(() => dispatcher.stop());
}

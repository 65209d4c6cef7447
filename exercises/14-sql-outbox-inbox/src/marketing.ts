import type { HandlerContext } from '@pierogi/shared';
import { FirstItemAdded, type ShopContext } from '@pierogi/shop';
import { useSqlOutboxInbox } from './sqlOutbox.ts';

/** The one document marketing keeps: how many orders started with each filling. */
const FIRST_ITEMS = 'first-items';

/** Marketing counts the filling each order started with. */
export async function marketing(shop: ShopContext): Promise<void> {
  await useSqlOutboxInbox(shop);
  // 🤔 The handlers below load and save through this. In which transaction? What if it fails?
  const marketingOf = (_context: HandlerContext) => shop.marketing;

  shop.endpoint.handle(FirstItemAdded, async (message, context) => {
    const { filling } = message.body;
    const marketing = marketingOf(context);
    const { value, version } = await marketing.load(FIRST_ITEMS);
    const firstItems = value ?? { counts: {} };
    firstItems.counts[filling] = (firstItems.counts[filling] ?? 0) + 1;
    await marketing.save(FIRST_ITEMS, firstItems, version);
  });
}

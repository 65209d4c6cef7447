import { FirstItemAdded, type ShopContext } from '@pierogi/shop';
import { useSqlOutboxInbox } from './sqlOutbox.ts';

/** The one document marketing keeps: how many orders started with each filling. */
const FIRST_ITEMS = 'first-items';

/** Marketing counts the filling each order started with. */
export async function marketing(shop: ShopContext): Promise<void> {
  await useSqlOutboxInbox(shop);
  // 🤔 The handlers load and save through `shop.marketing`: the shop's marketing, each save committed
  //    at once on a connection of the pool. Which transaction holds the inbox row? And if it fails?

  shop.handle(FirstItemAdded, async (message, context) => {
    const { filling } = message.body;
    const { value, version } = await shop.marketing.load(FIRST_ITEMS);
    const firstItems = value ?? { counts: {} };
    firstItems.counts[filling] = (firstItems.counts[filling] ?? 0) + 1;
    await shop.marketing.save(FIRST_ITEMS, firstItems, version);
  });
}

import { FirstItemAdded, type FirstItems, type ShopContext } from '@pierogi/shop';

/** The counts, and the ids of the events counted (as billing keeps them since exercise 09). */
interface Stats extends FirstItems {
  processed?: string[];
}

/** Marketing counts which filling orders start with, in one document for the whole shop. */
export function marketing(shop: ShopContext): void {
  shop.handle(FirstItemAdded, async (message, context) => {
    const { filling } = message.body;
    const { value, version } = await context.marketing.load('first-items');
    const stats: Stats = value ?? { counts: {} };
    if (stats.processed?.includes(message.id)) {
      shop.duplicate(context, 'this FirstItemAdded is counted already');
      return;
    }
    stats.processed = [...(stats.processed ?? []), message.id];
    stats.counts[filling] = (stats.counts[filling] ?? 0) + 1;
    await context.marketing.save('first-items', stats, version);
  });
}

import { FirstItemAdded, type FirstItems, type ShopContext } from '@pierogi/shop';
import { current, useOutbox } from './outbox.ts';

/** Marketing counts which filling orders start with, in one document for the whole shop. */
export function marketing(shop: ShopContext): void {
  useOutbox(shop, shop.marketing, {
    idOf: () => 'first-items',
    initial: () => ({ counts: {} }),
  });

  shop.handle(FirstItemAdded, async (message, context) => {
    const { counts } = current<FirstItems>(context);
    const { filling } = message.body;
    counts[filling] = (counts[filling] ?? 0) + 1;
  });
}

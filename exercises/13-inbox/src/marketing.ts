import { entity } from '@pierogi/shared';
import { FirstItemAdded, type FirstItems, type ShopContext } from '@pierogi/shop';
import { useOutboxInbox } from './outboxInbox.ts';

/** Marketing counts which filling orders start with, in one document for the whole shop. */
export async function marketing(shop: ShopContext): Promise<void> {
  await useOutboxInbox(shop, shop.marketing, {
    idOf: () => 'first-items',
    initial: () => ({ counts: {} }),
  });

  shop.handle(FirstItemAdded, async (message, context) => {
    const { counts } = entity<FirstItems>(context).state;
    const { filling } = message.body;
    counts[filling] = (counts[filling] ?? 0) + 1;
  });
}

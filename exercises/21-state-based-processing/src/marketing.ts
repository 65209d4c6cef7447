import { entity, RejectedMessageError } from '@pierogi/shared';
import { FIRST_ITEMS_ID, FirstItemAdded, type FirstItems, type ShopContext } from '@pierogi/shop';
import { useDeduplication } from './deduplication.ts';

/** Marketing counts which filling orders start with, in one document for the whole shop. */
export async function marketing(shop: ShopContext): Promise<void> {
  await useDeduplication(shop, shop.marketing, {
    idOf: () => FIRST_ITEMS_ID,
    initial: () => ({ counts: {} }),
  });

  shop.handle(FirstItemAdded, async (message, context) => {
    const { orderId, filling } = message.body;
    if (!(await context.orders.load(orderId)).value) {
      // Not from orders: counted, it would skew the statistics for good.
      throw new RejectedMessageError(
        `FirstItemAdded for order ${orderId}, which orders does not have`,
      );
    }
    const { counts } = entity<FirstItems>(context).state;
    counts[filling] = (counts[filling] ?? 0) + 1;
  });
}

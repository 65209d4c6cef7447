import { RejectedMessageError } from '@pierogi/shared';
import { FirstItemAdded, type ShopContext } from '@pierogi/shop';
import { useSqlOutboxInbox } from './sqlOutbox.ts';

/** The one document marketing keeps: how many orders started with each filling. */
const FIRST_ITEMS = 'first-items';

/** Marketing counts the filling each order started with. */
export async function marketing(shop: ShopContext): Promise<void> {
  await useSqlOutboxInbox(shop);

  shop.handle(FirstItemAdded, async (message, context) => {
    const { orderId, filling } = message.body;
    if (!(await context.orders.load(orderId)).value) {
      // Not from orders: counted, it would skew the statistics for good.
      throw new RejectedMessageError(
        `FirstItemAdded for order ${orderId}, which orders does not have`,
      );
    }
    const { value, version } = await context.marketing.load(FIRST_ITEMS);
    const firstItems = value ?? { counts: {} };
    firstItems.counts[filling] = (firstItems.counts[filling] ?? 0) + 1;
    await context.marketing.save(FIRST_ITEMS, firstItems, version);
  });
}

import { entity, RejectedMessageError } from '@pierogi/shared';
import { FIRST_ITEMS_ID, FirstItemAdded, type FirstItems, type ShopContext } from '@pierogi/shop';
import { useDeduplication } from './deduplication.ts';

/** How many FirstItemAdded marketing's one document remembers (see below). */
const MARKETING_HISTORY = 256;

/** Marketing counts which filling orders start with, in one document for the whole shop. */
export async function marketing(shop: ShopContext): Promise<void> {
  // One document for the whole shop: every order's FirstItemAdded lands here, so a copy that is
  // late — a redelivery after the retries' backoff, up to about 16 s — comes after hundreds of
  // other messages, not a few. Its history must be that long, or the copy is counted again:
  // 256 snapshots of a state of a few counts (about 150 bytes each) fit the 64 KB document.
  await useDeduplication(
    shop,
    shop.marketing,
    { idOf: () => FIRST_ITEMS_ID, initial: () => ({ counts: {} }) },
    MARKETING_HISTORY,
  );

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

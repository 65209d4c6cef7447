import { entity } from '@pierogi/shared';
import {
  type Bill,
  ItemAdded,
  ItemRemoved,
  OrderSubmitted,
  PRICES,
  type ShopContext,
} from '@pierogi/shop';
import { orderIdOf, useOutboxInbox } from './outboxInbox.ts';

/** Billing keeps a running total per order, and sends an invoice when it is submitted. */
export async function billing(shop: ShopContext): Promise<void> {
  await useOutboxInbox(shop, shop.bills, {
    idOf: orderIdOf,
    initial: (message) => ({ orderId: orderIdOf(message), total: 0, items: 0 }),
  });

  shop.handle(ItemAdded, async (message, context) => {
    const bill = entity<Bill>(context).state;
    bill.total += PRICES[message.body.filling];
    bill.items += 1;
  });

  shop.handle(ItemRemoved, async (message, context) => {
    const bill = entity<Bill>(context).state;
    bill.total -= PRICES[message.body.filling];
    bill.items -= 1;
  });

  shop.handle(OrderSubmitted, async (message, context) => {
    const bill = entity<Bill>(context).state;
    bill.invoices = (bill.invoices ?? 0) + 1;
    context.log.info(
      `invoice ${bill.invoices} for order ${message.body.orderId}: ${bill.total / 100}`,
    );
  });
}

import { ItemAdded, OrderSubmitted, PRICES, type ShopContext } from '@pierogi/shop';

/** Billing keeps a running total per order, and sends an invoice when the order is submitted. */
export function billing(shop: ShopContext): void {
  shop.handle(ItemAdded, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.bills.load(orderId);
    const bill = value ?? { orderId, total: 0, items: 0 };
    bill.total += PRICES[filling];
    bill.items += 1;
    await context.bills.save(orderId, bill, version);
  });

  shop.handle(OrderSubmitted, async (message, context) => {
    const { orderId } = message.body;
    const { value, version } = await context.bills.load(orderId);
    const bill = value ?? { orderId, total: 0, items: 0 };
    bill.invoices = (bill.invoices ?? 0) + 1;
    context.log.info(`invoice ${bill.invoices} for order ${orderId}: ${bill.total / 100}`);
    await context.bills.save(orderId, bill, version);
  });
}

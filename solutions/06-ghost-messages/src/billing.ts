import { ItemAdded, OrderSubmitted, PRICES, type ShopContext } from '@pierogi/shop';

/** Billing charges each filling of an order once, and sends an invoice when it is submitted. */
export function billing(shop: ShopContext): void {
  shop.handle(ItemAdded, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.bills.load(orderId);
    const bill = value ?? { orderId, total: 0, items: 0 };
    const charged = bill.fillings ?? [];
    if (charged.includes(filling)) {
      shop.duplicate(context, `${filling} is charged already`);
      return;
    }
    bill.fillings = [...charged, filling];
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

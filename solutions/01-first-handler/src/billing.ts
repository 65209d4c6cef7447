import { ItemAdded, PRICES, type ShopContext } from '@pierogi/shop';

/** Billing keeps a running total per order: every ItemAdded adds the filling's price. */
export function billing(shop: ShopContext): void {
  shop.handle(ItemAdded, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.bills.load(orderId);
    const bill = value ?? { orderId, total: 0, items: 0 };
    bill.total += PRICES[filling];
    bill.items += 1;
    await context.bills.save(orderId, bill, version);
  });
}

import { ItemAdded, ItemRemoved, OrderSubmitted, PRICES, type ShopContext } from '@pierogi/shop';
import { useSqlOutboxInbox } from './sqlOutbox.ts';

/** Billing keeps a running total per order, and sends an invoice when it is submitted. */
export async function billing(shop: ShopContext): Promise<void> {
  await useSqlOutboxInbox(shop);
  // 🤔 The handlers load and save through `shop.bills`: the shop's bills, each save committed
  //    at once on a connection of the pool. Which transaction holds the inbox row? And if it fails?

  shop.handle(ItemAdded, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await shop.bills.load(orderId);
    const bill = value ?? { orderId, total: 0, items: 0 };
    bill.total += PRICES[filling];
    bill.items += 1;
    await shop.bills.save(orderId, bill, version);
  });

  shop.handle(ItemRemoved, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await shop.bills.load(orderId);
    const bill = value ?? { orderId, total: 0, items: 0 };
    bill.total -= PRICES[filling];
    bill.items -= 1;
    await shop.bills.save(orderId, bill, version);
  });

  shop.handle(OrderSubmitted, async (message, context) => {
    const { orderId } = message.body;
    const { value, version } = await shop.bills.load(orderId);
    const bill = value ?? { orderId, total: 0, items: 0 };
    bill.invoices = (bill.invoices ?? 0) + 1;
    context.log.info(`invoice ${bill.invoices} for order ${orderId}: ${bill.total / 100}`);
    await shop.bills.save(orderId, bill, version);
  });
}

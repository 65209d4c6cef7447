import {
  ItemAdded,
  ItemRemoved,
  OrderSubmitted,
  PRICES,
  type Bill as ShopBill,
  type ShopContext,
} from '@pierogi/shop';

/** A bill that can remember the events applied to it, as an order does (`processed`). */
interface Bill extends ShopBill {
  processed?: string[];
}

/** Billing applies each item event once, and sends an invoice when the order is submitted. */
export function billing(shop: ShopContext): void {
  shop.handle(ItemAdded, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.bills.load(orderId);
    const bill: Bill = value ?? { orderId, total: 0, items: 0 };
    if (bill.processed?.includes(message.id)) {
      shop.duplicate(context, 'this ItemAdded is charged already');
      return;
    }
    bill.processed = [...(bill.processed ?? []), message.id]; // in the same write as the total
    bill.total += PRICES[filling];
    bill.items += 1;
    await context.bills.save(orderId, bill, version);
  });

  shop.handle(ItemRemoved, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.bills.load(orderId);
    const bill: Bill = value ?? { orderId, total: 0, items: 0 };
    if (bill.processed?.includes(message.id)) {
      shop.duplicate(context, 'this ItemRemoved is applied already');
      return;
    }
    // A sum does not care in which order its terms come: an ItemRemoved that overtook its
    // ItemAdded leaves the total below zero until the ItemAdded arrives.
    bill.processed = [...(bill.processed ?? []), message.id];
    bill.total -= PRICES[filling];
    bill.items -= 1;
    await context.bills.save(orderId, bill, version);
  });

  shop.handle(OrderSubmitted, async (message, context) => {
    const { orderId } = message.body;
    const { value, version } = await context.bills.load(orderId);
    const bill: Bill = value ?? { orderId, total: 0, items: 0 };
    if (bill.processed?.includes(message.id)) {
      shop.duplicate(context, 'this OrderSubmitted is invoiced already');
      return;
    }
    bill.processed = [...(bill.processed ?? []), message.id]; // in the same write as the invoice
    bill.invoices = (bill.invoices ?? 0) + 1;
    context.log.info(`invoice ${bill.invoices} for order ${orderId}: ${bill.total / 100}`);
    await context.bills.save(orderId, bill, version);
  });
}

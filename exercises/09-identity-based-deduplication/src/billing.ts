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

/** Billing charges each filling of an order once, and sends an invoice when it is submitted. */
export function billing(shop: ShopContext): void {
  shop.handle(ItemAdded, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.bills.load(orderId);
    const bill: Bill = value ?? { orderId, total: 0, items: 0 };
    const charged = bill.fillings ?? [];
    // 🤔 The same two questions as in exercise 08: a copy of this ItemAdded, or a second portion?
    //    A new ItemAdded, or a late copy of one whose ItemRemoved has been applied since?
    if (charged.includes(filling)) {
      shop.duplicate(context, `${filling} is charged already`);
      return;
    }
    bill.fillings = [...charged, filling];
    bill.total += PRICES[filling];
    bill.items += 1;
    await context.bills.save(orderId, bill, version);
  });

  shop.handle(ItemRemoved, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.bills.load(orderId);
    const bill: Bill = value ?? { orderId, total: 0, items: 0 };
    const charged = bill.fillings ?? [];
    // 🤔 Events overtake each other: an ItemRemoved may come before its ItemAdded. What must
    //    the total be once both are in, whichever came first?
    if (!charged.includes(filling)) {
      shop.duplicate(context, `${filling} is not charged`);
      return;
    }
    bill.fillings = charged.filter((charged) => charged !== filling);
    bill.total -= PRICES[filling];
    bill.items -= 1;
    await context.bills.save(orderId, bill, version);
  });

  shop.handle(OrderSubmitted, async (message, context) => {
    const { orderId } = message.body;
    const { value, version } = await context.bills.load(orderId);
    const bill: Bill = value ?? { orderId, total: 0, items: 0 };
    // 🤔 A copy of an OrderSubmitted, delivered twice: how many invoices?
    bill.invoices = (bill.invoices ?? 0) + 1;
    context.log.info(`invoice ${bill.invoices} for order ${orderId}: ${bill.total / 100}`);
    await context.bills.save(orderId, bill, version);
  });
}

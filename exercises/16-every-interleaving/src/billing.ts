import { type Envelope, RejectedMessageError } from '@pierogi/shared';
import {
  ItemAdded,
  ItemRemoved,
  OrderSubmitted,
  PRICES,
  type ShopContext,
  type ShopStores,
} from '@pierogi/shop';
import { useSqlOutboxInbox } from './sqlOutbox.ts';

/** Billing keeps a running total per order, and sends an invoice when it is submitted. */
export async function billing(shop: ShopContext): Promise<void> {
  await useSqlOutboxInbox(shop);

  /**
   * The bill of an order that orders has. An event about any other order did not come from
   * orders: it is refused (to the error queue, with the reason) rather than billed.
   */
  const billOf = async (stores: ShopStores, message: Envelope<{ orderId: string }>) => {
    const { orderId } = message.body;
    if (!(await stores.orders.load(orderId)).value) {
      throw new RejectedMessageError(
        `${message.type} for order ${orderId}, which orders does not have`,
      );
    }
    const { value, version } = await stores.bills.load(orderId);
    return { bill: value ?? { orderId, total: 0, items: 0 }, version };
  };
  /** An invoiced bill never changes: the invoice is what the customer pays. */
  const refuseIfInvoiced = (bill: { orderId: string; invoices?: number }, change: string) => {
    if (bill.invoices) {
      throw new RejectedMessageError(
        `order ${bill.orderId} is invoiced: its bill takes no ${change}`,
      );
    }
  };

  shop.handle(ItemAdded, async (message, context) => {
    const { orderId, filling } = message.body;
    const { bill, version } = await billOf(context, message);
    refuseIfInvoiced(bill, message.type);
    bill.total += PRICES[filling];
    bill.items += 1;
    await context.bills.save(orderId, bill, version);
  });

  shop.handle(ItemRemoved, async (message, context) => {
    const { orderId, filling } = message.body;
    const { bill, version } = await billOf(context, message);
    refuseIfInvoiced(bill, message.type);
    bill.total -= PRICES[filling];
    bill.items -= 1;
    await context.bills.save(orderId, bill, version);
  });

  shop.handle(OrderSubmitted, async (message, context) => {
    const { orderId } = message.body;
    const { bill, version } = await billOf(context, message);
    if (bill.items !== message.body.items) {
      // An item is still on its way (a retry, a delay, or in the error queue): the invoice waits
      // for it, so that it is right once sent. This attempt fails, and the message comes again.
      throw new Error(
        `order ${orderId} has ${message.body.items} item(s) and its bill ${bill.items} so far: invoiced once the rest arrive`,
      );
    }
    bill.invoices = (bill.invoices ?? 0) + 1;
    context.log.info(`invoice ${bill.invoices} for order ${orderId}: ${bill.total / 100}`);
    await context.bills.save(orderId, bill, version);
  });
}

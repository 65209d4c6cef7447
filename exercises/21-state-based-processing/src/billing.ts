import { type Envelope, entity, RejectedMessageError } from '@pierogi/shared';
import {
  type Bill,
  ItemAdded,
  ItemRemoved,
  OrderSubmitted,
  PRICES,
  type ShopContext,
  type ShopHandlerContext,
} from '@pierogi/shop';
import { orderIdOf, useDeduplication } from './deduplication.ts';

/** Billing keeps a running total per order, and sends an invoice when it is submitted. */
export async function billing(shop: ShopContext): Promise<void> {
  await useDeduplication(shop, shop.bills, {
    idOf: orderIdOf,
    initial: (message) => ({ orderId: orderIdOf(message), total: 0, items: 0 }),
  });

  /**
   * The bill of an order that orders has. An event about any other order did not come from
   * orders: it is refused (to the error queue, with the reason) rather than billed. An invoiced
   * bill never changes: the invoice is what the customer pays.
   */
  const billOf = async (context: ShopHandlerContext, message: Envelope<{ orderId: string }>) => {
    const { orderId } = message.body;
    if (!(await context.orders.load(orderId)).value) {
      throw new RejectedMessageError(
        `${message.type} for order ${orderId}, which orders does not have`,
      );
    }
    return entity<Bill>(context).state;
  };
  const refuseIfInvoiced = (bill: Bill, change: string) => {
    if (bill.invoices) {
      throw new RejectedMessageError(
        `order ${bill.orderId} is invoiced: its bill takes no ${change}`,
      );
    }
  };

  shop.handle(ItemAdded, async (message, context) => {
    const bill = await billOf(context, message);
    refuseIfInvoiced(bill, message.type);
    bill.total += PRICES[message.body.filling];
    bill.items += 1;
  });

  shop.handle(ItemRemoved, async (message, context) => {
    const bill = await billOf(context, message);
    refuseIfInvoiced(bill, message.type);
    bill.total -= PRICES[message.body.filling];
    bill.items -= 1;
  });

  shop.handle(OrderSubmitted, async (message, context) => {
    const { orderId } = message.body;
    const bill = await billOf(context, message);
    if (bill.items !== message.body.items) {
      // An item is still on its way (a retry, a delay, or in the error queue): the invoice waits
      // for it, so that it is right once sent. This attempt fails, and the message comes again.
      throw new Error(
        `order ${orderId} has ${message.body.items} item(s) and its bill ${bill.items} so far: invoiced once the rest arrive`,
      );
    }
    bill.invoices = (bill.invoices ?? 0) + 1;
    context.log.info(`invoice ${bill.invoices} for order ${orderId}: ${bill.total / 100}`);
  });
}

import { RejectedMessageError } from '@pierogi/shared';
import {
  AddItem,
  FirstItemAdded,
  ItemAdded,
  ItemRemoved,
  type Order,
  OrderSubmitted,
  RemoveItem,
  type ShopContext,
  SubmitOrder,
} from '@pierogi/shop';
import { useSqlOutboxInbox } from './sqlOutbox.ts';

/**
 * The orders endpoint: it owns the orders, and tells the others what changed. No duplicate
 * checks here: the inbox drops a message it has seen before the handler runs.
 */
export async function orders(shop: ShopContext): Promise<void> {
  await useSqlOutboxInbox(shop);

  shop.handle(AddItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.orders.load(orderId);
    const order = value ?? { id: orderId, lines: [], submitted: false };
    refuseIfSubmitted(order, message.type);
    const first = order.lines.length === 0;
    order.lines.push(filling); // a second Meat is a second portion
    await context.orders.save(orderId, order, version);
    await context.publish(ItemAdded, { orderId, filling });
    if (first) await context.publish(FirstItemAdded, { orderId, filling });
  });

  shop.handle(RemoveItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value: order, version } = await context.orders.load(orderId);
    if (order) refuseIfSubmitted(order, message.type);
    const line = order?.lines.indexOf(filling) ?? -1;
    if (!order || line === -1) return; // not in the order: nothing to take off
    order.lines.splice(line, 1); // one portion
    await context.orders.save(orderId, order, version);
    await context.publish(ItemRemoved, { orderId, filling });
  });

  shop.handle(SubmitOrder, async (message, context) => {
    const { orderId } = message.body;
    const { value: order, version } = await context.orders.load(orderId);
    if (!order || order.submitted) return; // nothing to submit, or submitted already
    order.submitted = true;
    await context.orders.save(orderId, order, version);
    await context.publish(OrderSubmitted, { orderId, items: order.lines.length });
  });
}

/**
 * A submitted order takes no more changes: the customer was invoiced for what it held. (The
 * frontend refuses such a request when it can see the order submitted; this is for one that was
 * on its way meanwhile.) The message goes to the error queue, with the reason, for a person.
 */
function refuseIfSubmitted(order: Order, change: string): void {
  if (order.submitted) {
    throw new RejectedMessageError(`order ${order.id} is submitted: it takes no ${change}`);
  }
}

import { entity, RejectedMessageError } from '@pierogi/shared';
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
import { CouponGranted, couponFor } from './coupons.ts';
import { orderIdOf, useDeduplication } from './deduplication.ts';

/**
 * The orders endpoint: it owns the orders, and tells the others what changed. The handlers are
 * the business only: loading, storing and exactly-once are the deduplication's job
 * (src/deduplication.ts).
 */
export async function orders(shop: ShopContext): Promise<void> {
  await useDeduplication(shop, shop.orders, {
    idOf: orderIdOf,
    initial: (message) => ({ id: orderIdOf(message), lines: [], submitted: false }),
  });

  shop.handle(AddItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const order = entity<Order>(context).state;
    refuseIfSubmitted(order, message.type);
    const first = order.lines.length === 0;
    order.lines.push(filling); // a second Meat is a second portion
    await context.publish(ItemAdded, { orderId, filling });
    if (first) await context.publish(FirstItemAdded, { orderId, filling });
  });

  shop.handle(RemoveItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const order = entity<Order>(context).state;
    refuseIfSubmitted(order, message.type);
    const line = order.lines.indexOf(filling);
    if (line === -1) return; // not in the order: nothing to take off
    order.lines.splice(line, 1); // one portion
    await context.publish(ItemRemoved, { orderId, filling });
  });

  shop.handle(SubmitOrder, async (message, context) => {
    const { orderId } = message.body;
    const order = entity<Order>(context).state;
    if (order.submitted || order.lines.length === 0) return; // submitted already, or nothing to submit
    order.submitted = true;
    await context.publish(OrderSubmitted, { orderId, items: order.lines.length });
    const coupon = couponFor(message);
    if (coupon) await context.publish(CouponGranted, { orderId, ...coupon });
  });
}

/** A submitted order takes no more changes (to the error queue, with the reason, for a person). */
function refuseIfSubmitted(order: Order, change: string): void {
  if (order.submitted) {
    throw new RejectedMessageError(`order ${order.id} is submitted: it takes no ${change}`);
  }
}

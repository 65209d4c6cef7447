import { entity } from '@pierogi/shared';
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
import { orderIdOf, useOutboxInbox } from './outboxInbox.ts';

/**
 * The orders endpoint: it owns the orders, and tells the others what changed. The handlers are
 * the business only: loading, storing and exactly-once are the outbox's and the inbox's job
 * (src/outboxInbox.ts).
 */
export async function orders(shop: ShopContext): Promise<void> {
  await useOutboxInbox(shop, shop.orders, {
    idOf: orderIdOf,
    initial: (message) => ({ id: orderIdOf(message), lines: [], submitted: false }),
  });

  shop.handle(AddItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const order = entity<Order>(context).state;
    const first = order.lines.length === 0;
    order.lines.push(filling);
    await context.publish(ItemAdded, { orderId, filling });
    if (first) await context.publish(FirstItemAdded, { orderId, filling });
  });

  shop.handle(RemoveItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const order = entity<Order>(context).state;
    const line = order.lines.indexOf(filling);
    if (line === -1) return; // not in the order: nothing to take off
    order.lines.splice(line, 1);
    await context.publish(ItemRemoved, { orderId, filling });
  });

  shop.handle(SubmitOrder, async (message, context) => {
    const { orderId } = message.body;
    const order = entity<Order>(context).state;
    if (order.submitted) return; // submitted already
    order.submitted = true;
    await context.publish(OrderSubmitted, { orderId, items: order.lines.length });
  });
}

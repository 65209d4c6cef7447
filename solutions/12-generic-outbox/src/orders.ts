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
import { current, orderIdOf, useOutbox } from './outbox.ts';

/**
 * The orders endpoint: it owns the orders, and tells the others what changed. The handlers are
 * the business only: loading, storing and exactly-once are the outbox's job (src/outbox.ts).
 */
export function orders(shop: ShopContext): void {
  useOutbox(shop, shop.orders, {
    idOf: orderIdOf,
    initial: (message) => ({ id: orderIdOf(message), lines: [], submitted: false }),
  });

  shop.handle(AddItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const order = current<Order>(context);
    const first = order.lines.length === 0;
    order.lines.push(filling);
    await context.publish(ItemAdded, { orderId, filling });
    if (first) await context.publish(FirstItemAdded, { orderId, filling });
  });

  shop.handle(RemoveItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const order = current<Order>(context);
    const line = order.lines.indexOf(filling);
    if (line === -1) return; // not in the order: nothing to take off
    order.lines.splice(line, 1);
    await context.publish(ItemRemoved, { orderId, filling });
  });

  shop.handle(SubmitOrder, async (message, context) => {
    const { orderId } = message.body;
    const order = current<Order>(context);
    if (order.submitted) return; // submitted already
    order.submitted = true;
    await context.publish(OrderSubmitted, { orderId, items: order.lines.length });
  });
}

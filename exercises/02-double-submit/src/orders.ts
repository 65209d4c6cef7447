import { AddItem, ItemAdded, OrderSubmitted, type ShopContext, SubmitOrder } from '@pierogi/shop';

/** The orders endpoint: it owns the orders, and tells the others what changed. */
export function orders(shop: ShopContext): void {
  shop.handle(AddItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.orders.load(orderId);
    const order = value ?? { id: orderId, lines: [], submitted: false };
    order.lines.push(filling);
    await context.publish(ItemAdded, { orderId, filling });
    await context.orders.save(orderId, order, version);
  });

  shop.handle(SubmitOrder, async (message, context) => {
    const { orderId } = message.body;
    const { value: order } = await context.orders.load(orderId);
    if (!order || order.submitted) return; // nothing to submit, or submitted already
    order.submitted = true;
    // 👉 `overwrite` stores the order whatever happened since it was loaded: the last writer
    //    wins. Store it only if it is still the version you loaded.
    await context.orders.overwrite(orderId, order);
    await context.publish(OrderSubmitted, { orderId, items: order.lines.length });
  });
}

import { AddItem, ItemAdded, type ShopContext } from '@pierogi/shop';

/** The orders endpoint: it owns the orders, and tells the others what changed. */
export function orders(shop: ShopContext): void {
  shop.handle(AddItem, async (message, context) => {
    const { orderId, filling } = message.body;
    context.log.info(`${filling} for order ${orderId}`);
    const { value, version } = await context.orders.load(orderId);
    const order = value ?? { id: orderId, lines: [], submitted: false };
    order.lines.push(filling);
    await context.publish(ItemAdded, { orderId, filling });
    await context.orders.save(orderId, order, version);
  });
}

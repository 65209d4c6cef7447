import {
  AddItem,
  ItemAdded,
  ItemRemoved,
  OrderSubmitted,
  RemoveItem,
  type ShopContext,
  SubmitOrder,
} from '@pierogi/shop';

/** The orders endpoint: it owns the orders, and tells the others what changed. */
export function orders(shop: ShopContext): void {
  shop.handle(AddItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.orders.load(orderId);
    const order = value ?? { id: orderId, lines: [], submitted: false };
    if (order.lines.includes(filling)) {
      shop.duplicate(context, `${filling} is in the order already`);
      // It may be a retry of an attempt that stored the line and then failed to publish:
      // publish again (billing ignores a filling it has already charged).
      await context.publish(ItemAdded, { orderId, filling });
      return;
    }
    order.lines.push(filling);
    await context.orders.save(orderId, order, version);
    await context.publish(ItemAdded, { orderId, filling });
  });

  shop.handle(RemoveItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value: order, version } = await context.orders.load(orderId);
    if (!order?.lines.includes(filling)) {
      shop.duplicate(context, `${filling} is not in the order`);
      await context.publish(ItemRemoved, { orderId, filling }); // it may never have left
      return;
    }
    order.lines = order.lines.filter((line) => line !== filling);
    await context.orders.save(orderId, order, version);
    await context.publish(ItemRemoved, { orderId, filling });
  });

  shop.handle(SubmitOrder, async (message, context) => {
    const { orderId } = message.body;
    const { value: order, version } = await context.orders.load(orderId);
    if (!order) return; // nothing to submit
    if (order.submitted) {
      shop.duplicate(context, 'the order is submitted already');
      // Submitted and stored, but the OrderSubmitted may never have left: publish again.
      await context.publish(OrderSubmitted, { orderId, items: order.lines.length });
      return;
    }
    order.submitted = true;
    await context.orders.save(orderId, order, version);
    await context.publish(OrderSubmitted, { orderId, items: order.lines.length });
  });
}

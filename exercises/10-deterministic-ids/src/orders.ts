import {
  AddItem,
  ItemAdded,
  ItemRemoved,
  OrderSubmitted,
  RemoveItem,
  type ShopContext,
  type Order as ShopOrder,
  SubmitOrder,
} from '@pierogi/shop';

/** An order that remembers the ids of the messages applied to it, stored with what they changed. */
interface Order extends ShopOrder {
  processed?: string[];
}

/** The orders endpoint: it owns the orders, and tells the others what changed. */
export function orders(shop: ShopContext): void {
  shop.handle(AddItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.orders.load(orderId);
    const order: Order = value ?? { id: orderId, lines: [], submitted: false };
    // A copy carries the id of the original; a new request (a second portion, or Meat again
    // after a RemoveItem) has an id of its own. The lines cannot tell them apart.
    if (order.processed?.includes(message.id)) {
      shop.duplicate(context, 'this AddItem is applied already');
      // It may be a retry of an attempt that stored the line and then failed to publish:
      // publish again (billing ignores a filling it has already charged).
      // 🤔 Billing knows an ItemAdded by its id. Which id does this one get?
      // 👉 The same as the first attempt's: deterministicId(message.id, context.endpoint,
      //    'ItemAdded') from '@pierogi/shared' is the same for every attempt at this AddItem.
      //    Publish with it, here and below: context.publish(ItemAdded, body, { id }).
      await context.publish(ItemAdded, { orderId, filling });
      return;
    }
    order.lines.push(filling);
    order.processed = [...(order.processed ?? []), message.id]; // in the same write as the line
    await context.orders.save(orderId, order, version);
    await context.publish(ItemAdded, { orderId, filling });
  });

  shop.handle(RemoveItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const { value, version } = await context.orders.load(orderId);
    const order: Order | undefined = value;
    if (order?.processed?.includes(message.id)) {
      shop.duplicate(context, 'this RemoveItem is applied already');
      await context.publish(ItemRemoved, { orderId, filling }); // 👉 with its id, as ItemAdded
      return;
    }
    const line = order?.lines.indexOf(filling) ?? -1;
    if (!order || line === -1) return; // not in the order: nothing to take off
    order.lines.splice(line, 1); // one portion
    order.processed = [...(order.processed ?? []), message.id];
    await context.orders.save(orderId, order, version);
    await context.publish(ItemRemoved, { orderId, filling });
  });

  shop.handle(SubmitOrder, async (message, context) => {
    const { orderId } = message.body;
    const { value, version } = await context.orders.load(orderId);
    const order: Order | undefined = value;
    if (!order) return; // nothing to submit
    if (order.processed?.includes(message.id)) {
      shop.duplicate(context, 'this SubmitOrder is applied already');
      // Submitted and stored, but the OrderSubmitted may never have left: publish again.
      // 👉 With its id, as ItemAdded, here and below.
      await context.publish(OrderSubmitted, { orderId, items: order.lines.length });
      return;
    }
    if (order.submitted) return; // submitted by another SubmitOrder (a second tab): no event
    order.submitted = true;
    order.processed = [...(order.processed ?? []), message.id];
    await context.orders.save(orderId, order, version);
    await context.publish(OrderSubmitted, { orderId, items: order.lines.length });
  });
}

import { deterministicId } from '@pierogi/shared';
import {
  AddItem,
  type Filling,
  FirstItemAdded,
  ItemAdded,
  ItemRemoved,
  OrderSubmitted,
  RemoveItem,
  type ShopContext,
  type Order as ShopOrder,
  SubmitOrder,
} from '@pierogi/shop';

/** An event the order keeps until it is published, with the id it was given. */
type Pending =
  | {
      readonly id: string;
      readonly type: 'ItemAdded';
      readonly body: { orderId: string; filling: Filling };
    }
  | {
      readonly id: string;
      readonly type: 'FirstItemAdded';
      readonly body: { orderId: string; filling: Filling };
    }
  | {
      readonly id: string;
      readonly type: 'OrderSubmitted';
      readonly body: { orderId: string; items: number };
    };

/**
 * An order that can keep the events its changes caused, stored with them (👉 `outbox`).
 * 👉 To publish a kept event, get its contract back from its `type`:
 *    `contracts(ItemAdded, FirstItemAdded, OrderSubmitted).byType(event.type)` (from
 *    `@pierogi/shared`), then `context.publish(contract, event.body, { id: event.id })`.
 */
interface Order extends ShopOrder {
  /** The ids of the messages applied to this order, stored with what they changed. */
  processed?: string[];
  outbox?: Pending[];
}

/** The orders endpoint: it owns the orders, and tells the others what changed. */
export function orders(shop: ShopContext): void {
  shop.handle(AddItem, async (message, context) => {
    const { orderId, filling } = message.body;
    // The events of this AddItem have the same ids on every attempt: copies published again
    // are ones billing and marketing have seen, not new ones.
    const id = deterministicId(message.id, context.endpoint, 'ItemAdded');
    const firstId = deterministicId(message.id, context.endpoint, 'FirstItemAdded');
    const { value, version } = await context.orders.load(orderId);
    const order: Order = value ?? { id: orderId, lines: [], submitted: false };
    // A copy carries the id of the original; a new request (a second portion, or Meat again
    // after a RemoveItem) has an id of its own. The lines cannot tell them apart.
    if (order.processed?.includes(message.id)) {
      shop.duplicate(context, 'this AddItem is applied already');
      // It may be a retry of an attempt that stored the line and then failed to publish:
      // publish again (billing ignores an ItemAdded it has applied already).
      await context.publish(ItemAdded, { orderId, filling }, { id });
      // 🤔 And FirstItemAdded, if this was the order's first item. Was it? The order has
      //    changed since that attempt — other items may have come and gone.
      return;
    }
    const first = order.lines.length === 0;
    order.lines.push(filling);
    order.processed = [...(order.processed ?? []), message.id]; // in the same write as the line
    await context.orders.save(orderId, order, version);
    await context.publish(ItemAdded, { orderId, filling }, { id });
    if (first) await context.publish(FirstItemAdded, { orderId, filling }, { id: firstId });
  });

  shop.handle(RemoveItem, async (message, context) => {
    const { orderId, filling } = message.body;
    const id = deterministicId(message.id, context.endpoint, 'ItemRemoved');
    const { value, version } = await context.orders.load(orderId);
    const order: Order | undefined = value;
    if (order?.processed?.includes(message.id)) {
      shop.duplicate(context, 'this RemoveItem is applied already');
      await context.publish(ItemRemoved, { orderId, filling }, { id }); // it may never have left
      return;
    }
    const line = order?.lines.indexOf(filling) ?? -1;
    if (!order || line === -1) return; // not in the order: nothing to take off
    order.lines.splice(line, 1); // one portion
    order.processed = [...(order.processed ?? []), message.id];
    await context.orders.save(orderId, order, version);
    await context.publish(ItemRemoved, { orderId, filling }, { id });
  });

  shop.handle(SubmitOrder, async (message, context) => {
    const { orderId } = message.body;
    const id = deterministicId(message.id, context.endpoint, 'OrderSubmitted');
    const { value, version } = await context.orders.load(orderId);
    const order: Order | undefined = value;
    if (!order) return; // nothing to submit
    if (order.processed?.includes(message.id)) {
      shop.duplicate(context, 'this SubmitOrder is applied already');
      // Submitted and stored, but the OrderSubmitted may never have left: publish again.
      // 🤔 With `items` counted from the order as it is now. Is that what it was when the
      //    order was submitted?
      await context.publish(OrderSubmitted, { orderId, items: order.lines.length }, { id });
      return;
    }
    if (order.submitted) return; // submitted by another SubmitOrder (a second tab): no event
    order.submitted = true;
    order.processed = [...(order.processed ?? []), message.id];
    await context.orders.save(orderId, order, version);
    await context.publish(OrderSubmitted, { orderId, items: order.lines.length }, { id });
  });
}

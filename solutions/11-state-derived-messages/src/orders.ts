import { contracts, deterministicId } from '@pierogi/shared';
import {
  AddItem,
  type Filling,
  FirstItemAdded,
  ItemAdded,
  ItemRemoved,
  OrderSubmitted,
  RemoveItem,
  type ShopContext,
  type ShopHandlerContext,
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

/** An order that keeps the events its changes caused, stored with them, until they are out. */
interface Order extends ShopOrder {
  /** The ids of the messages applied to this order, stored with what they changed. */
  processed?: string[];
  outbox?: Pending[];
}

/** The contracts of the events an order keeps, by type name: a stored event's `type` gives its own. */
const EVENTS = contracts(ItemAdded, FirstItemAdded, OrderSubmitted);

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
    let stored = version;
    // A copy carries the id of the original; a new request (a second portion, or Meat again
    // after a RemoveItem) has an id of its own. The lines cannot tell them apart.
    if (order.processed?.includes(message.id)) {
      shop.duplicate(context, 'this AddItem is applied already');
    } else {
      const first = order.lines.length === 0;
      order.lines.push(filling);
      order.processed = [...(order.processed ?? []), message.id]; // in the same write as the line
      // Not published yet: decided now, from the order as it is now, and stored in the same
      // write as the change they tell of. A retry publishes them as decided, never again derived.
      const body = { orderId, filling };
      order.outbox = [...(order.outbox ?? []), { id, type: 'ItemAdded', body }];
      if (first) order.outbox.push({ id: firstId, type: 'FirstItemAdded', body });
      stored = await context.orders.save(orderId, order, version); // the new version
    }
    await publishOutbox(order, stored, context);
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
    let stored = version;
    if (order.processed?.includes(message.id)) {
      shop.duplicate(context, 'this SubmitOrder is applied already');
    } else if (!order.submitted) {
      order.submitted = true;
      order.processed = [...(order.processed ?? []), message.id];
      // `items` counts the order as it is now: stored as decided, so that a retry publishes
      // this count, not one of the order as it is then.
      const body = { orderId, items: order.lines.length };
      order.outbox = [...(order.outbox ?? []), { id, type: 'OrderSubmitted', body }];
      stored = await context.orders.save(orderId, order, version);
    } // else submitted by another SubmitOrder (a second tab): no event of its own
    await publishOutbox(order, stored, context);
  });

  /**
   * Publishes what the order still has to tell — the events of this message, or those of an
   * attempt that stored its change and failed before they were out — with their stored ids.
   */
  async function publishOutbox(order: Order, version: number, context: ShopHandlerContext) {
    if (!order.outbox?.length) return;
    for (const event of order.outbox) {
      await context.publish(EVENTS.byType(event.type), event.body, { id: event.id });
    }
    order.outbox = []; // only once all are out: a failure before this publishes them again
    await context.orders.save(order.id, order, version);
  }
}

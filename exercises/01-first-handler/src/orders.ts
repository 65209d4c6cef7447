import { AddItem, type ShopContext } from '@pierogi/shop';

/** The orders endpoint: it owns the orders, and tells the others what changed. */
export function orders(shop: ShopContext): void {
  shop.handle(AddItem, async (message, context) => {
    const { orderId, filling } = message.body;
    context.log.info(`${filling} for order ${orderId}`);
    // 👉 1. Load the order: `await context.orders.load(orderId)` gives `{ value, version }`;
    //       `value` is undefined for an order nobody stored yet (start it with no lines).
    // 👉 2. Add a line for the filling.
    // 👉 3. Tell billing: `await context.publish(ItemAdded, { orderId, filling })`.
    // 👉 4. Store the order: `await context.orders.save(orderId, order, version)`.
    // 🤔 Steps 3 and 4: which should come first? Keep your answer for the discussion.
  });
}

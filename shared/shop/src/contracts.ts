import { defineCommand, defineEvent } from '@pierogi/shared';
import { z } from 'zod';

/** The fillings the shop sells (the original workshop's set), with their prices in cents. */
export const PRICES = {
  Meat: 1_200,
  Mushrooms: 1_000,
  QuarkAndPotatoes: 900,
  SwissCheese: 1_100,
  Strawberry: 1_300,
} as const;

export type Filling = keyof typeof PRICES;
export const FILLINGS = Object.keys(PRICES) as [Filling, ...Filling[]];
export const FillingSchema = z.enum(FILLINGS, {
  error: (issue) =>
    issue.input === undefined
      ? `the filling is missing; the shop sells ${FILLINGS.join(', ')}`
      : `unknown filling ${quote(issue.input)}; the shop sells ${FILLINGS.join(', ')}`,
});

/** A value the client sent, for a message: quoted, and cut short (to `max` characters). */
function quote(input: unknown, max = 40): string {
  const text =
    typeof input === 'string'
      ? JSON.stringify(input)
      : typeof input === 'number' || typeof input === 'boolean' || input === null
        ? String(input)
        : `an ${typeof input}`;
  return text.length <= max ? text : `${text.slice(0, max - 2)}…"`;
}

/** How an order id looks, wherever it is checked: 1–64 letters, digits, `-` or `_`. */
export const ORDER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** An order id, in every message and at the HTTP edge: the one rule for what it may be. */
export const OrderId = z.string().regex(ORDER_ID_PATTERN, {
  error: (issue) =>
    `orderId must be 1–64 letters, digits, "-" or "_", not ${quote(issue.input, 80)}`,
});

/** The customer wants one more portion of a filling in an order. */
export const AddItem = defineCommand(
  'AddItem',
  z.object({ orderId: OrderId, filling: FillingSchema }),
);
/** The customer wants one portion of a filling less. */
export const RemoveItem = defineCommand(
  'RemoveItem',
  z.object({ orderId: OrderId, filling: FillingSchema }),
);
/** The customer is done: the order is placed. */
export const SubmitOrder = defineCommand('SubmitOrder', z.object({ orderId: OrderId }));

export const ItemAdded = defineEvent(
  'ItemAdded',
  z.object({ orderId: OrderId, filling: FillingSchema }),
);
export const ItemRemoved = defineEvent(
  'ItemRemoved',
  z.object({ orderId: OrderId, filling: FillingSchema }),
);
export const OrderSubmitted = defineEvent(
  'OrderSubmitted',
  z.object({ orderId: OrderId, items: z.number().int().nonnegative() }),
);
/** The first item of an order: marketing counts which filling people start with. */
export const FirstItemAdded = defineEvent(
  'FirstItemAdded',
  z.object({ orderId: OrderId, filling: FillingSchema }),
);

/** Every message type of the shop. */
export const SHOP_MESSAGES = [
  AddItem,
  RemoveItem,
  SubmitOrder,
  ItemAdded,
  ItemRemoved,
  OrderSubmitted,
  FirstItemAdded,
] as const;

/** Their names, as chaos rules and the page pick them. */
export const MESSAGE_TYPES = SHOP_MESSAGES.map((message) => message.type) as [
  (typeof SHOP_MESSAGES)[number]['type'],
  ...(typeof SHOP_MESSAGES)[number]['type'][],
];

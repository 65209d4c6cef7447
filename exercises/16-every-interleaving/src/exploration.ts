import type { ExploreOptions } from '@pierogi/shared/testing';
import {
  ADD_ITEM,
  type AddItemHandler,
  type AddItemStores,
  deliveryOf,
  describeStores,
  newStores,
  orderOf,
} from './addItemStores.ts';

/**
 * The exploration of an AddItem handler: which copies of the message run, how many crashes the
 * explorer may inject, and what must hold at the end of every execution. `pnpm check 16` runs it
 * over your handler (src/addItem.ts) and over handlers with flaws of their own.
 */
export function exploration(handler: AddItemHandler): ExploreOptions<AddItemStores> {
  return {
    stores: newStores,
    // 👉 1. One copy of the message, never interrupted: every "order" of its steps is the one
    //    order. How does a message come to be handled twice at the same time?
    actors: [{ name: 'copy A', run: deliveryOf(handler) }],
    // 👉 2. How many crashes the explorer injects in an execution (before any step of a copy that
    //    may crash; that copy then starts over, as a redelivery would).
    maxFailures: 0,
    // 👉 3. What "exactly once" means here, one invariant each, as the stores show it at the end.
    invariants: [
      {
        name: 'the order holds the item',
        holds: async (stores) => (await orderOf(stores)).lines.includes(ADD_ITEM.filling),
      },
    ],
    describe: describeStores,
  };
}

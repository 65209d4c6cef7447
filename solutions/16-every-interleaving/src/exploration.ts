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
    // Two copies of one AddItem at the same time: a duplicate the broker delivered, or a
    // redelivery while the first delivery still runs. Only copy A crashes: the executions where
    // B crashes are the same ones with the names swapped.
    actors: [
      { name: 'copy A', run: deliveryOf(handler) },
      { name: 'copy B', run: deliveryOf(handler), crashes: false },
    ],
    // A crash before any step of copy A, which then starts over.
    maxFailures: 1,
    invariants: [
      {
        name: 'no duplicate processing: the item is in the order once',
        holds: async (stores) => (await orderOf(stores)).lines.length <= 1,
      },
      {
        // The copies are retried until they finish, so the message is processed in the end.
        name: 'processed: the item is in the order',
        holds: async (stores) => (await orderOf(stores)).lines.includes(ADD_ITEM.filling),
      },
      {
        name: 'no lost messages: ItemAdded was published',
        holds: (stores) => stores.published.length > 0,
      },
      {
        // Copies of ItemAdded are fine (billing deduplicates by id), as long as they are copies.
        name: 'consistent output: every ItemAdded published has the same id',
        holds: (stores) => new Set(stores.published.map((m) => m.id)).size <= 1,
      },
      {
        name: 'nothing left behind: the outbox is empty',
        holds: async (stores) => Object.keys((await orderOf(stores)).outbox).length === 0,
      },
    ],
    describe: describeStores,
  };
}

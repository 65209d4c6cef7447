import { ConcurrencyError, MemoryDocumentStore, MemoryInbox } from '../../store/index.ts';
import type { ActorRun, ExploreOptions } from '../interleavingExplorer.ts';

/**
 * The outbox + inbox handler for one AddItem as real async code over the in-memory stores, for
 * the interleaving explorer: two copies of the same message race each other. It mirrors the
 * state machine in outboxInbox.ts.
 */
export interface Order {
  items: number;
  /** Outgoing messages not yet dispatched, by the id of the incoming message that caused them. */
  outbox: Record<string, string>;
}

export interface OrderStores {
  orders: MemoryDocumentStore<Order>;
  inbox: MemoryInbox;
  sent: string[];
}

const MESSAGE = 'add-item-1';

/**
 * The outbox + inbox handler for one AddItem, as the library will run it, with a `yield` before
 * every step that touches shared state. `inboxFirst` is the flawed order.
 */
export function handler(inboxFirst: boolean): ActorRun<OrderStores> {
  return async function* (s) {
    for (;;) {
      // Starts over after a concurrency conflict: someone else changed the order meanwhile.
      let seen = false;
      if (inboxFirst) {
        yield 'check inbox';
        seen = await s.inbox.has(MESSAGE);
      }
      yield 'load order';
      const { value, version } = await s.orders.load('orders', 'o1');
      const order = value ?? { items: 0, outbox: {} };
      if (!inboxFirst) {
        yield 'check inbox';
        seen = await s.inbox.has(MESSAGE);
      }
      try {
        if (seen) {
          // Duplicate: the inbox knows it; clean up an outbox entry a crash may have left.
          if (MESSAGE in order.outbox) {
            yield 'remove leftover outbox entry';
            delete order.outbox[MESSAGE];
            await s.orders.save('orders', 'o1', order, version);
          }
          return;
        }
        let current = version;
        if (!(MESSAGE in order.outbox)) {
          yield 'add item + outbox entry';
          order.items++;
          order.outbox[MESSAGE] = 'ItemAdded/add-item-1';
          current = await s.orders.save('orders', 'o1', order, version);
        }
        yield 'dispatch';
        s.sent.push(order.outbox[MESSAGE] as string);
        yield 'mark inbox'; // after dispatch, before the outbox entry goes
        await s.inbox.mark(MESSAGE);
        yield 'remove outbox entry';
        delete order.outbox[MESSAGE];
        await s.orders.save('orders', 'o1', order, current);
        return;
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
      }
    }
  };
}

export function twoCopies(inboxFirst: boolean, maxFailures: number): ExploreOptions<OrderStores> {
  return {
    stores: () => ({
      orders: new MemoryDocumentStore<Order>(),
      inbox: new MemoryInbox(),
      sent: [],
    }),
    actors: [
      { name: 'copy 1', run: handler(inboxFirst) },
      { name: 'copy 2', run: handler(inboxFirst) },
    ],
    maxFailures,
    invariants: [
      {
        name: 'no duplicate processing',
        holds: async (s) => ((await s.orders.load('orders', 'o1')).value?.items ?? 0) <= 1,
      },
      { name: 'no lost messages', holds: (s) => s.sent.includes('ItemAdded/add-item-1') },
    ],
  };
}

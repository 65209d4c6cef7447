import { describe, expect, it } from 'vitest';
import { ConcurrencyError, MemoryDocumentStore, MemoryInbox } from '../src/store/index.ts';
import {
  type ActorRun,
  type ExploreOptions,
  exploreInterleavings,
  formatExecution,
} from '../src/testing/interleavingExplorer.ts';

interface Order {
  items: number;
  /** Outgoing messages not yet dispatched, by the id of the incoming message that caused them. */
  outbox: Record<string, string>;
}

interface Stores {
  orders: MemoryDocumentStore<Order>;
  inbox: MemoryInbox;
  sent: string[];
}

const MESSAGE = 'add-item-1';

/**
 * The outbox + inbox handler for one AddItem, as the library will run it, with a `yield` before
 * every step that touches shared state. `inboxFirst` is the flawed order.
 */
function handler(inboxFirst: boolean): ActorRun<Stores> {
  return async function* (s) {
    for (;;) {
      // Starts over after a concurrency conflict: someone else changed the order meanwhile.
      let seen = false;
      if (inboxFirst) {
        yield 'check inbox';
        seen = await s.inbox.has(MESSAGE);
      }
      yield 'load order';
      const { value, version } = await s.orders.load('o1');
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
            await s.orders.save('o1', order, version);
          }
          return;
        }
        let current = version;
        if (!(MESSAGE in order.outbox)) {
          yield 'add item + outbox entry';
          order.items++;
          order.outbox[MESSAGE] = 'ItemAdded/add-item-1';
          current = await s.orders.save('o1', order, version);
        }
        yield 'dispatch';
        s.sent.push(order.outbox[MESSAGE] as string);
        yield 'mark inbox'; // after dispatch, before the outbox entry goes
        await s.inbox.mark(MESSAGE);
        yield 'remove outbox entry';
        delete order.outbox[MESSAGE];
        await s.orders.save('o1', order, current);
        return;
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
      }
    }
  };
}

function twoCopies(inboxFirst: boolean, maxFailures: number): ExploreOptions<Stores> {
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
        holds: async (s) => ((await s.orders.load('o1')).value?.items ?? 0) <= 1,
      },
      { name: 'no lost messages', holds: (s) => s.sent.includes('ItemAdded/add-item-1') },
    ],
  };
}

describe('interleaving explorer: two copies of one message', () => {
  it('outbox + inbox, order loaded before the inbox check: every execution keeps the invariants', async () => {
    const result = await exploreInterleavings({ ...twoCopies(false, 1), maxExecutions: 500_000 });
    console.log(
      `${formatExecution(result)} (${result.executions} executions, ${result.elapsedMs.toFixed(0)} ms)`,
    );
    expect(result.ok).toBe(true);
    expect(result.executions).toBeGreaterThan(1000);
  });

  it('inbox checked first: an execution processes the message twice', async () => {
    const result = await exploreInterleavings(twoCopies(true, 0));
    console.log(formatExecution(result));
    expect(result.failure?.invariant).toBe('no duplicate processing');
    expect(result.failure?.trace).toContain('copy 2: add item + outbox entry');
  });

  it('explores every interleaving: two actors of 2 and 3 steps have C(5,2) = 10 orders', async () => {
    const orders = new Set<string>();
    const step = (name: string, n: number): ActorRun<string[]> =>
      async function* (log) {
        for (let i = 1; i <= n; i++) {
          yield `${name}${i}`;
          log.push(`${name}${i}`);
        }
      };
    const result = await exploreInterleavings<string[]>({
      stores: () => [],
      actors: [
        { name: 'a', run: step('a', 2) },
        { name: 'b', run: step('b', 3) },
      ],
      invariants: [{ name: 'record', holds: (log) => orders.add(log.join(' ')) !== undefined }],
    });
    expect(result.executions).toBe(10);
    expect(orders.size).toBe(10);
  });
});

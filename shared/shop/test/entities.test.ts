import {
  Chaos,
  type Envelope,
  entity,
  IdentityBased,
  MemoryDocumentStore,
  PgDocumentStore,
  STRATEGY_FIELD,
  UnitOfWork,
} from '@pierogi/shared';
import { describeOn, useIsolation, waitFor } from '@pierogi/shared/testing';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { Entities, type Order } from '../src/entities.ts';

function message(type: string, body: object = {}): Envelope {
  return {
    id: `${type}-1`,
    type,
    body,
    headers: {
      conversationId: 'c-1',
      causationId: undefined,
      sendingEndpoint: 'test',
      sentAt: '2026-01-01T00:00:00.000Z',
      deliveryCount: 1,
      custom: {},
    },
  };
}

/** The unit of work of one message whose strategy opened the transaction `client`. */
function workIn(client: pg.PoolClient, of: Envelope = message('AddItem')): UnitOfWork {
  const work = new UnitOfWork(of);
  work.transaction = client;
  return work;
}

/** `Entities.in(work)`: the shop's documents in a message's SQL transaction (Postgres). */
// What one connection sees of another's open transaction: Postgres's isolation itself.
describeOn('postgres', 'entities in the transaction of a unit of work (Postgres)', () => {
  const iso = useIsolation('entities');

  async function orders(chaos?: Chaos) {
    const store = new PgDocumentStore<Order>(iso().pool(), { table: 'entity_documents' });
    await store.install();
    return new Entities<Order>(store, 'orders', chaos);
  }

  async function inTransaction<R>(
    work: (client: pg.PoolClient) => Promise<R>,
    end: 'commit' | 'rollback',
  ): Promise<R> {
    const client = await iso().pool().connect();
    try {
      await client.query('begin');
      const result = await work(client);
      await client.query(end);
      return result;
    } finally {
      client.release();
    }
  }

  it('a save in a transaction that rolls back leaves nothing', async () => {
    const all = await orders();
    await inTransaction(async (client) => {
      const inside = all.in(workIn(client));
      await inside.save('rolled-back', { id: 'rolled-back', lines: ['Meat'], submitted: false }, 0);
      expect((await inside.load('rolled-back')).value?.lines, 'seen inside').toEqual(['Meat']);
      expect((await all.load('rolled-back')).value, 'not seen outside yet').toBeUndefined();
    }, 'rollback');
    expect(await all.load('rolled-back')).toEqual({ value: undefined, version: 0 });
  });

  it('a save in a transaction that commits is there for everyone', async () => {
    const all = await orders();
    await all.save('committed', { id: 'committed', lines: [], submitted: false }, 0);
    await inTransaction(async (client) => {
      const inside = all.in(workIn(client));
      const { value, version } = await inside.load('committed');
      await inside.save('committed', { ...(value as Order), lines: ['Mushrooms'] }, version);
    }, 'commit');
    expect(await all.load('committed')).toEqual({
      value: { id: 'committed', lines: ['Mushrooms'], submitted: false },
      version: 2,
    });
  });

  it('a load in a transaction holds the document: a second transaction waits, then sees the change', async () => {
    const all = await orders();
    await all.save('busy', { id: 'busy', lines: [], submitted: false }, 0);
    const first = await iso().pool().connect();
    const second = await iso().pool().connect();
    try {
      await first.query('begin');
      await second.query('begin');
      const { value, version } = await all.in(workIn(first)).load('busy');
      const { rows } = await second.query<{ pid: number }>('select pg_backend_pid() as pid');
      const waiting = all.in(workIn(second)).load('busy');
      await waitFor(
        async () => {
          const { rows: state } = await iso()
            .pool()
            .query<{ wait_event_type: string | null }>(
              'select wait_event_type from pg_stat_activity where pid = $1',
              [rows[0]?.pid],
            );
          return state[0]?.wait_event_type === 'Lock';
        },
        { what: 'the second load to wait for the first transaction' },
      );
      await all.in(workIn(first)).save('busy', { ...(value as Order), lines: ['Meat'] }, version);
      await first.query('commit');
      // Without the lock it would have read version 1 and failed its save with a conflict.
      expect(await waiting).toEqual({
        value: { id: 'busy', lines: ['Meat'], submitted: false },
        version: 2,
      });
      await second.query('commit');
    } finally {
      first.release();
      second.release();
    }
  });

  it('a stale version fails inside the transaction too', async () => {
    const all = await orders();
    await all.save('stale', { id: 'stale', lines: [], submitted: false }, 0);
    await all.save('stale', { id: 'stale', lines: ['Meat'], submitted: false }, 1);
    await expect(
      inTransaction(
        (client) =>
          all.in(workIn(client)).save('stale', { id: 'stale', lines: [], submitted: false }, 1),
        'rollback',
      ),
    ).rejects.toThrow(/version 2, not 1/);
  });

  it('loads and saves in a transaction still go through the chaos steps', async () => {
    const chaos = new Chaos({ seed: 1, steps: ['orders.load', 'orders.save'] });
    chaos.add({ kind: 'fail-commit', step: 'orders.save', times: 1 });
    const all = await orders(chaos);
    await expect(
      inTransaction(
        (client) =>
          all.in(workIn(client)).save('chaos', { id: 'chaos', lines: [], submitted: false }, 0),
        'commit',
      ),
    ).rejects.toThrow(/orders.save failed/);
    expect(chaos.injections.map((i) => i.step)).toEqual(['orders.save']);
  });

  it('a batch in a transaction is undone with it, and undoes only itself when it fails', async () => {
    const store = new PgDocumentStore<{ n: number }>(iso().pool(), { table: 'entity_documents' });
    await inTransaction(async (client) => {
      const inside = store.within(client);
      await inside.save('counters', 'kept', { n: 1 }, 0);
      await expect(
        inside.batch('counters', [
          { id: 'a', value: { n: 1 }, expectedVersion: 0 },
          { id: 'kept', value: { n: 2 }, expectedVersion: 5 }, // stale: the batch fails
        ]),
      ).rejects.toThrow(/version 1, not 5/);
      expect((await inside.load('counters', 'a')).value, 'the failed batch left nothing').toBe(
        undefined,
      );
      expect((await inside.load('counters', 'kept')).value).toEqual({ n: 1 });
      await inside.batch('counters', [{ id: 'b', value: { n: 1 }, expectedVersion: 0 }]);
    }, 'rollback');
    expect((await store.load('counters', 'b')).value, 'rolled back with the transaction').toBe(
      undefined,
    );
    expect((await store.load('counters', 'kept')).value).toBeUndefined();
  });

  it('a chaos rule picks the message of the unit of work: its type and body reach the step', async () => {
    const chaos = new Chaos({ seed: 1, steps: ['orders.load', 'orders.save'] });
    chaos.add({
      kind: 'fail-commit',
      step: 'orders.save',
      field: { path: 'filling', equals: 'Meat' },
    });
    const all = await orders(chaos);
    const order = (id: string): Order => ({ id, lines: [], submitted: false });
    const meat = all.in(new UnitOfWork(message('AddItem', { filling: 'Meat' })));
    const cheese = all.in(new UnitOfWork(message('AddItem', { filling: 'SwissCheese' })));
    await expect(meat.save('meat', order('meat'), 0)).rejects.toThrow(
      /orders.save failed for AddItem/,
    );
    expect(await cheese.save('cheese', order('cheese'), 0)).toBe(1);
    // Outside any message, the store belongs to no message: a rule that selects one passes it by.
    expect(await all.save('outside', order('outside'), 0)).toBe(1);
    expect(chaos.injections.map((i) => i.messageType)).toEqual(['AddItem']);
  });
});

/** A library strategy keeps its data beside the business state, in one field the library owns. */
describe('a strategy over the shop documents', () => {
  it('stores the state as the shop reads it, and its own data in one field beside it', async () => {
    const store = new MemoryDocumentStore<Order>();
    const orders = new Entities<Order>(store, 'orders');
    const strategy = new IdentityBased<Order>({
      store: orders.forStrategy(),
      locate: (m) => ({ partition: 'orders', id: (m.body as { orderId: string }).orderId }),
      initial: (m) => ({
        id: (m.body as { orderId: string }).orderId,
        lines: [],
        submitted: false,
      }),
    }).dispatchTo(async () => {});
    const add = message('AddItem', { orderId: 'o-1', filling: 'Meat' });
    const delivery = { message: add, work: new UnitOfWork(add) };
    const handler = async () => {
      entity<Order>(delivery).state.lines.push('Meat');
    };
    await strategy.handle(delivery, handler);
    await strategy.handle({ message: add, work: new UnitOfWork(add) }, handler); // a copy
    const { value } = await orders.load('o-1');
    expect(value).toEqual({
      id: 'o-1',
      lines: ['Meat'],
      submitted: false,
      [STRATEGY_FIELD]: { processed: ['AddItem-1'] },
    });
  });
});

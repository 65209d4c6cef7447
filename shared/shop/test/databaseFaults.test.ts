import { describeOn, waitFor } from '@pierogi/shared/testing';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AddItem } from '../src/contracts.ts';
import { useRunningShop } from './useRunningShop.ts';

/**
 * The reference shop while its Postgres connections are killed (a failover, a restart, an
 * administrator's pg_terminate_backend): each costs a retry, never the process. An unheard
 * 'error' event would end this test's process, and fail the run.
 */
describeOn('postgres', 'the shop survives its database connections being killed', () => {
  const { shop: running, iso } = useRunningShop('database faults', 'solutions/14-sql-outbox-inbox');
  let admin: pg.Client | undefined;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: iso().databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });

  /** The shop's backends, by state and query. */
  async function backends() {
    const { rows } = await (admin as pg.Client).query<{
      pid: number;
      state: string | null;
      query: string;
    }>('select pid, state, query from pg_stat_activity where application_name = $1', [
      `pierogi shop ${iso().schema}`.slice(0, 63),
    ]);
    return rows;
  }

  async function terminate(pids: readonly number[]): Promise<void> {
    for (const pid of pids) {
      await (admin as pg.Client).query('select pg_terminate_backend($1)', [pid]);
    }
  }

  async function addAndSettle(orderId: string, filling: 'Meat' | 'Strawberry') {
    const sent = await running().endpoints.frontend.send(AddItem, { orderId, filling });
    await running().tracer.waitUntilSettled(sent.headers.conversationId, { timeoutMs: 20_000 });
  }

  it('idle pooled connections and the LISTEN connection killed: the shop goes on, and listens again', async () => {
    await addAndSettle('o-idle', 'Meat');
    const before = await backends();
    expect(before.some((b) => /listen outbox_pending/i.test(b.query))).toBe(true);
    await terminate(before.map((b) => b.pid));

    await addAndSettle('o-idle', 'Strawberry');
    expect((await running().orders.load('o-idle')).value?.lines).toEqual(['Meat', 'Strawberry']);
    expect((await running().bills.load('o-idle')).value?.total).toBe(1_200 + 1_300);
    await waitFor(
      async () => (await backends()).some((b) => /listen outbox_pending/i.test(b.query)),
      { what: 'the dispatcher to listen again on a new connection', timeoutMs: 10_000 },
    );
  });

  it('a connection killed in the middle of a message: that attempt fails, the retry applies it once', async () => {
    // Hold the AddItem's transaction open at its commit, so its connection is busy when killed.
    running().chaos.add({
      kind: 'delay',
      step: 'commit',
      messageType: 'AddItem',
      field: { path: 'orderId', equals: 'o-busy' },
      delayMs: 1_000,
      times: 1,
    });
    const sent = await running().endpoints.frontend.send(AddItem, {
      orderId: 'o-busy',
      filling: 'Meat',
    });
    let busy: number[] = [];
    await waitFor(
      async () => {
        busy = (await backends())
          .filter((b) => b.state === 'idle in transaction')
          .map((b) => b.pid);
        return busy.length > 0;
      },
      { what: 'the AddItem holding its transaction open' },
    );
    await terminate(busy);
    await running().tracer.waitUntilSettled(sent.headers.conversationId, { timeoutMs: 20_000 });
    expect((await running().orders.load('o-busy')).value?.lines).toEqual(['Meat']);
    expect((await running().bills.load('o-busy')).value?.total).toBe(1_200);
    expect(await running().failed?.count()).toBe(0);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Endpoint } from '../src/bus/index.ts';
import { Chaos } from '../src/chaos/index.ts';
import { defineCommand, defineEvent, newMessageId } from '../src/messages/index.ts';
import { createPool } from '../src/store/index.ts';
import { OutboxDispatcher, SqlOutboxInbox } from '../src/strategies/index.ts';
import { isEmbedded, Recorder, useIsolation, waitFor } from '../src/testing/index.ts';
import { connectTransport } from '../src/transports/index.ts';

const AddItem = defineCommand('AddItem', z.object({ orderId: z.string() }));
const ItemAdded = defineEvent('ItemAdded', z.object({ orderId: z.string() }));

describe('outbox dispatcher and cleanup (Postgres, RabbitMQ)', () => {
  const iso = useIsolation('outbox dispatcher');
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });
  let run = 0;

  async function setup(endpointName: string, chaos?: Chaos) {
    const transport = await connectTransport({
      url: iso().amqpUrl,
      prefix: `${iso().prefix}.${++run}.`,
      onDeclare: (name) => iso().track(name),
    });
    cleanups.push(() => transport.close());
    const outbox = new SqlOutboxInbox(iso().pool(), endpointName, chaos ? { steps: chaos } : {});
    await outbox.install();
    const orders = new Endpoint({
      name: endpointName,
      transport,
      recoverability: { immediateRetries: 0, delayedRetriesMs: [] }, // gives up at once
    });
    outbox.use(orders).handle(AddItem, async (m, ctx) => {
      await ctx.publish(ItemAdded, m.body);
    });
    const received = new Recorder<string>();
    const billing = new Endpoint({ name: 'billing', transport }).handle(ItemAdded, async (m) =>
      received.push(m.body.orderId),
    );
    for (const e of [orders, billing]) cleanups.push(() => e.stop({ drain: false }));
    await orders.start();
    await billing.start();
    return { outbox, orders, received, frontend: new Endpoint({ name: 'frontend', transport }) };
  }

  function dispatcher(outboxes: Record<string, SqlOutboxInbox>, pollMs: number) {
    const d = new OutboxDispatcher(iso().pool(), outboxes, { pollMs });
    cleanups.push(() => d.stop());
    return d;
  }

  it('messages committed by a handler that then gave up are sent at once, woken by NOTIFY', async () => {
    const chaos = new Chaos({ seed: 1 });
    chaos.add({ kind: 'fail-commit', step: 'dispatch', times: 1 }); // the inline send fails
    const { outbox, received, frontend } = await setup('orders_notify', chaos);
    await dispatcher({ orders_notify: outbox }, 600_000).start(); // polling would take ten minutes

    await frontend.send(AddItem, { orderId: 'o1' }, { to: 'orders_notify' });

    await received.waitForCount(1, 'ItemAdded sent by the background dispatcher');
    expect(chaos.injections.map((i) => i.step)).toEqual(['dispatch']);
  });

  it('polling finds rows that nothing announced', async () => {
    const { outbox, received } = await setup('orders_poll');
    const message = {
      id: newMessageId(),
      type: 'ItemAdded',
      body: { orderId: 'left-behind' },
      headers: {
        conversationId: 'c1',
        causationId: 'm0',
        sendingEndpoint: 'orders_poll',
        sentAt: new Date().toISOString(),
        deliveryCount: 0,
        custom: {},
      },
    };
    await iso()
      .pool()
      .query(
        "insert into outbox (endpoint, owner_message_id, operation, created_at) values ($1, 'm0', $2, now() - interval '1 minute')",
        [
          'orders_poll',
          JSON.stringify({ message, destination: { kind: 'publish', type: 'ItemAdded' } }),
        ],
      );
    await dispatcher({ orders_poll: outbox }, 50).start();

    await received.waitForCount(1, 'the row left behind');
    expect(received.items).toEqual(['left-behind']);
  });

  it('inbox cleanup deletes rows older than the retention in batches and keeps the rest', async () => {
    const { outbox } = await setup('orders_cleanup');
    const pool = iso().pool();
    await pool.query(
      "insert into inbox (endpoint, message_id, processed_at) select 'orders_cleanup', 'old-' || i, now() - interval '2 days' from generate_series(1, 2500) i",
    );
    await pool.query(
      "insert into inbox (endpoint, message_id) select 'orders_cleanup', 'new-' || i from generate_series(1, 10) i",
    );

    const deleted = await outbox.cleanupInbox(24 * 60 * 60 * 1000, 1_000);

    expect(deleted).toBe(2500);
    const { rows } = await pool.query(
      "select count(*)::int as n from inbox where endpoint = 'orders_cleanup'",
    );
    expect(rows[0].n).toBe(10);
  });

  // PGlite has one session and no backend to terminate.
  it.skipIf(isEmbedded('postgres'))(
    'its LISTEN connection dies after it stopped: heard, not released twice, the process lives',
    async () => {
      const name = `dispatcher ${iso().schema}`.slice(0, 63);
      const pool = createPool({
        connectionString: iso().databaseUrl,
        options: `-c search_path=${iso().schema}`,
        application_name: name,
        max: 1, // the same connection goes back to the pool, and would be lent out next
      });
      cleanups.push(() => pool.end());
      const d = new OutboxDispatcher(pool, {}, { pollMs: 600_000 });
      await d.start();
      const { rows } = await iso()
        .pool()
        .query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [
          name,
        ]);
      await d.stop();
      await iso().pool().query('select pg_terminate_backend($1)', [rows[0]?.pid]);
      // Idle in the pool, the connection dies: the pool drops it (the dispatcher's old listener,
      // had it stayed, would release it a second time, and end the process).
      await waitFor(() => pool.totalCount === 0, { what: 'the pool to drop the dead connection' });
      // Then it lends a new one.
      await waitFor(
        () =>
          pool.query<{ one: number }>('select 1 as one').then(
            ({ rows: [row] }) => row?.one === 1,
            () => false,
          ),
        { what: 'the pool to serve a query on a new connection' },
      );
      expect(pool.totalCount).toBe(1);
    },
  );
});

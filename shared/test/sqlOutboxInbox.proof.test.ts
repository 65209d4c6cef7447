import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Endpoint, type Transport } from '../src/bus/index.ts';
import { Chaos } from '../src/chaos/index.ts';
import { defineCommand, defineEvent } from '../src/messages/index.ts';
import { SqlOutboxInbox } from '../src/strategies/index.ts';
import { useIsolation, waitFor } from '../src/testing/index.ts';
import { connectTransport } from '../src/transports/index.ts';

const AddItem = defineCommand('AddItem', z.object({ orderId: z.string(), filling: z.string() }));
const ItemAdded = defineEvent(
  'ItemAdded',
  z.object({ orderId: z.string(), filling: z.string(), line: z.number() }),
);
const FILLINGS = ['Meat', 'Mushrooms', 'QuarkAndPotatoes', 'SwissCheese', 'Strawberry'];
const ORDERS = 120;

describe('proof: SQL outbox + inbox under chaos (RabbitMQ and Postgres)', () => {
  const iso = useIsolation('sql outbox proof');
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  for (const seed of [11, 23, 37, 41, 59]) {
    it(`seed ${seed}: every AddItem applied once, every ItemAdded sent, none for a change that did not commit`, async () => {
      const pool = iso().pool();
      const table = `order_lines_${seed}`;
      await pool.query(
        `create table ${table} (id serial primary key, message_id text not null, order_id text not null, filling text not null)`,
      );
      const transport: Transport = await connectTransport({
        url: iso().amqpUrl,
        prefix: `${iso().prefix}.${seed}.`,
        onDeclare: (name) => iso().track(name),
      });
      cleanups.push(() => transport.close());

      // The frontend duplicates some commands; orders loses and retries deliveries, fails and
      // times out commits, crashes after committing, and fails dispatches.
      const frontendChaos = new Chaos({ seed });
      frontendChaos.add({ kind: 'duplicate', rate: 0.3 });
      const chaos = new Chaos({ seed: seed + 1 });
      chaos.add({ kind: 'drop-then-redeliver', rate: 0.1 });
      chaos.add({ kind: 'duplicate', messageType: 'ItemAdded', rate: 0.2 });
      chaos.add({ kind: 'fail-commit', rate: 0.1 });
      chaos.add({ kind: 'timeout', delayMs: 5, rate: 0.1 });
      chaos.add({ kind: 'crash', step: 'after-commit', rate: 0.1 });
      chaos.add({ kind: 'fail-commit', step: 'dispatch', rate: 0.1 });

      const ordersEndpoint = `orders_${seed}`; // its own inbox and outbox rows: earlier runs may still be finishing
      const outbox = new SqlOutboxInbox(pool, ordersEndpoint, { steps: chaos });
      await outbox.install();
      const orders = new Endpoint({
        name: ordersEndpoint,
        transport: chaos.wrap(transport),
        concurrency: 8,
        recoverability: { immediateRetries: 3, delayedRetriesMs: [20, 50, 100, 200] },
        incoming: [chaos.incoming],
      });
      outbox.use(orders).handle(AddItem, async (m, ctx) => {
        const db = ctx.work.sql();
        await db.query(`insert into ${table} (message_id, order_id, filling) values ($1, $2, $3)`, [
          m.id,
          m.body.orderId,
          m.body.filling,
        ]);
        const { rows } = await db.query(
          `select count(*)::int as n from ${table} where order_id = $1`,
          [m.body.orderId],
        );
        await ctx.publish(ItemAdded, { ...m.body, line: rows[0].n });
      });
      const received = new Map<string, { causationId: string | undefined; orderId: string }>();
      const billing = new Endpoint({ name: 'billing', transport, concurrency: 8 }).handle(
        ItemAdded,
        async (m) => {
          received.set(m.id, { causationId: m.headers.causationId, orderId: m.body.orderId });
        },
      );
      const frontend = new Endpoint({ name: 'frontend', transport: frontendChaos.wrap(transport) });
      for (const e of [orders, billing, frontend]) cleanups.push(() => e.stop({ drain: false }));
      await orders.start();
      await billing.start();

      const sent = [];
      for (let i = 0; i < ORDERS; i++) {
        const body = {
          orderId: `order-${i % 40}`,
          filling: FILLINGS[i % FILLINGS.length] as string,
        };
        sent.push(await frontend.send(AddItem, body, { to: ordersEndpoint }));
      }

      const rowCount = async () =>
        (await pool.query(`select count(*)::int as n from ${table}`)).rows[0].n as number;
      await waitFor(async () => received.size >= ORDERS && (await rowCount()) >= ORDERS, {
        timeoutMs: 60_000,
        what: () => `${ORDERS} lines and ItemAdded events (have ${received.size} events)`,
      });

      const { rows } = await pool.query<{ message_id: string }>(`select message_id from ${table}`);
      const applied = new Set(rows.map((r) => r.message_id));
      // Exactly once: one line per AddItem sent (duplicates and retries added nothing).
      expect(rows.length).toBe(ORDERS);
      expect([...applied].sort()).toEqual(sent.map((m) => m.id).sort());
      // No ghost: every event was caused by a committed AddItem. None lost, none twice: one event each.
      const causes = [...received.values()].map((r) => r.causationId as string);
      expect(causes.every((id) => applied.has(id))).toBe(true);
      expect(new Set(causes).size).toBe(ORDERS);
      expect(received.size).toBe(ORDERS);
      // The outbox empties: a dispatch deletes its rows in a transaction that commits just after
      // the broker confirms, so the last rows may still be there when the last event arrives.
      const outboxRows = async () =>
        (
          await pool.query('select count(*)::int as n from outbox where endpoint = $1', [
            ordersEndpoint,
          ])
        ).rows[0].n as number;
      await waitFor(async () => (await outboxRows()) === 0, { what: 'an empty outbox' });
      expect(chaos.injections.length).toBeGreaterThan(20);
      console.log(
        `seed ${seed}: ${chaos.injections.length + frontendChaos.injections.length} injections (${[
          ...new Set(
            [...frontendChaos.injections, ...chaos.injections].map(
              (i) => i.kind + (i.step ? `@${i.step}` : ''),
            ),
          ),
        ].join(', ')})`,
      );
    });
  }
});

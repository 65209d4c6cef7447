import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import { Endpoint } from '../src/bus/index.ts';
import { createLogger } from '../src/log/index.ts';
import { defineCommand, defineEvent } from '../src/messages/index.ts';
import { SqlOutboxInbox } from '../src/strategies/index.ts';
import { RabbitMqTransport } from '../src/transports/index.ts';

const AddItem = defineCommand('AddItem', z.object({ orderId: z.string(), filling: z.string() }));
const ItemAdded = defineEvent('ItemAdded', z.object({ orderId: z.string(), filling: z.string() }));

export interface OutboxInboxResult {
  messages: number;
  concurrency: number;
  naive_msgs_per_s: number;
  outbox_inbox_msgs_per_s: number;
  ratio: number;
  dispatch_latency_p50_ms: number;
  dispatch_latency_p99_ms: number;
  /** Inbox rows once every message was handled: one per message, the deduplication record. */
  inbox_rows_before_cleanup: number;
  /** Outbox rows left once every event arrived (dispatched rows are deleted). */
  outbox_rows_left: number;
  /** Inbox rows left after a cleanup whose retention every message has outlived. */
  dedup_rows_after_cleanup: number;
  cleanup_ms: number;
}

/**
 * The same handler — one row inserted, one event published — run two ways on real RabbitMQ and
 * Postgres, one after the other in one process: naive at-least-once (insert commits on its own,
 * publish after it, ack after that) and the SQL outbox + inbox. Throughput counts until the
 * last event reaches a subscriber; latency is from the handler's publish call (before the
 * commit) to the subscriber, for the outbox run.
 */
export async function outboxInboxBench(
  amqpUrl: string,
  databaseUrl: string,
  options: { messages?: number; concurrency?: number } = {},
): Promise<OutboxInboxResult> {
  const messages = options.messages ?? 3_000;
  const concurrency = options.concurrency ?? Number(process.env.BENCH_CONCURRENCY ?? 16);
  const id = randomBytes(3).toString('hex');
  const schema = `bench_${id}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: concurrency + 4,
    options: `-c search_path=${schema}`,
  });
  const transport = await RabbitMqTransport.connect({ url: amqpUrl, prefix: `bench.${id}.` });
  const logger = createLogger({ level: 'warn' });
  const declared = new Set<string>();
  try {
    await pool.query(
      'create table lines (id bigserial primary key, message_id text not null, order_id text not null)',
    );
    let outbox: SqlOutboxInbox | undefined;
    const run = async (name: 'naive' | 'outboxed') => {
      const latencies: number[] = [];
      let received = 0;
      let done = () => {};
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      const sink = new Endpoint({ name: `${name}-sink`, transport, logger, concurrency }).handle(
        ItemAdded,
        async (m) => {
          latencies.push(Date.now() - Date.parse(m.headers.sentAt));
          if (++received === messages) done();
        },
      );
      const endpoint = new Endpoint({ name, transport, logger, concurrency });
      if (name === 'outboxed') {
        outbox = new SqlOutboxInbox(pool, name);
        await outbox.install();
        outbox.use(endpoint).handle(AddItem, async (m, ctx) => {
          await ctx.work
            .sql()
            .query('insert into lines (message_id, order_id) values ($1, $2)', [
              m.id,
              m.body.orderId,
            ]);
          await ctx.publish(ItemAdded, m.body);
        });
      } else {
        endpoint.handle(AddItem, async (m, ctx) => {
          await pool.query('insert into lines (message_id, order_id) values ($1, $2)', [
            m.id,
            m.body.orderId,
          ]);
          await ctx.publish(ItemAdded, m.body);
        });
      }
      declared.add(name).add(`${name}-sink`);
      // Declare the queues, then fill the endpoint's queue while nobody consumes.
      await endpoint.start();
      await endpoint.stop();
      await sink.start();
      const sender = new Endpoint({ name: 'bench-sender', transport, logger });
      let sent = 0;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (sent < messages) {
            sent++;
            await sender.send(
              AddItem,
              { orderId: `o-${sent % 100}`, filling: 'Meat' },
              { to: name },
            );
          }
        }),
      );
      const started = performance.now();
      await endpoint.start();
      await finished;
      const seconds = (performance.now() - started) / 1000;
      await endpoint.stop();
      await sink.stop();
      return { perSecond: Math.round(messages / seconds), latencies };
    };
    const naive = await run('naive');
    const outboxed = await run('outboxed');
    const count = async (table: string) =>
      (await pool.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]?.n ?? 0;
    const inboxRows = await count('inbox');
    // The delete after a dispatch does not wait for its commit to reach the disk; give it a moment.
    const deadline = Date.now() + 5_000;
    while ((await count('outbox')) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const outboxLeft = await count('outbox');
    const cleanupStarted = performance.now();
    await outbox?.cleanupInbox(0, 1_000);
    const cleanupMs = Math.round(performance.now() - cleanupStarted);
    const sorted = [...outboxed.latencies].sort((a, b) => a - b);
    const percentile = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
    return {
      messages,
      concurrency,
      naive_msgs_per_s: naive.perSecond,
      outbox_inbox_msgs_per_s: outboxed.perSecond,
      ratio: Math.round((outboxed.perSecond / naive.perSecond) * 100) / 100,
      dispatch_latency_p50_ms: percentile(50),
      dispatch_latency_p99_ms: percentile(99),
      inbox_rows_before_cleanup: inboxRows,
      outbox_rows_left: outboxLeft,
      dedup_rows_after_cleanup: await count('inbox'),
      cleanup_ms: cleanupMs,
    };
  } finally {
    const channelCleanup = await RabbitMqTransport.connect({ url: amqpUrl });
    await channelCleanup.close();
    await transport.close();
    await pool.end();
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
    await deleteQueues(amqpUrl, `bench.${id}.`, [...declared, 'bench-sender', 'error']);
  }
}

async function deleteQueues(url: string, prefix: string, names: string[]): Promise<void> {
  const amqp = (await import('amqplib')).default;
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  for (const name of names) {
    await channel.deleteQueue(`${prefix}${name}`);
    for (const delay of [1000, 5000, 15000])
      await channel.deleteQueue(`${prefix}${name}.delay-${delay}ms`);
  }
  await channel.deleteExchange(`${prefix}events`);
  await connection.close();
}

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WIRE } from '@pierogi/shared';
import amqp from 'amqplib';
import type pg from 'pg';

const run = promisify(execFile);

export interface InFlight {
  /** Messages waiting or being handled, by queue (the error queue apart). */
  readonly queues: Record<string, number>;
  /** Rows of a SQL outbox not yet dispatched (0 when the shop has no such table). */
  readonly outboxRows: number;
  /** Whether unacked messages (being handled right now) were counted too. */
  readonly countsUnacked: boolean;
}

export function total(inFlight: InFlight): number {
  return Object.values(inFlight.queues).reduce((a, b) => a + b, 0) + inFlight.outboxRows;
}

/**
 * What the shop still has to do: messages in its queues (the delay queues of retries included)
 * and outbox rows. With `rabbitmqctl` on this machine the messages being handled count too;
 * without it only the waiting ones can be seen (AMQP tells no more).
 */
export async function inFlight(
  amqpUrl: string,
  pool: pg.Pool,
  prefix: string,
  queues: readonly string[],
): Promise<InFlight> {
  const [counts, outboxRows] = await Promise.all([
    countWithRabbitmqctl(prefix).catch(() => undefined),
    countOutbox(pool),
  ]);
  if (counts) return { queues: counts, outboxRows, countsUnacked: true };
  const work = queues.filter((q) => q !== `${prefix}error` && q !== `${prefix}events`);
  return { queues: await countWithAmqp(amqpUrl, work), outboxRows, countsUnacked: false };
}

async function countWithRabbitmqctl(prefix: string): Promise<Record<string, number>> {
  const { stdout } = await run(
    'rabbitmqctl',
    [
      '-q',
      '--no-table-headers',
      'list_queues',
      'name',
      'messages_ready',
      'messages_unacknowledged',
    ],
    { timeout: 15_000 },
  );
  const counts: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    const [name, ready, unacked] = line.trim().split(/\s+/);
    if (!name?.startsWith(prefix) || name === `${prefix}error`) continue;
    counts[name] = Number(ready) + Number(unacked);
  }
  return counts;
}

async function countWithAmqp(
  url: string,
  queues: readonly string[],
): Promise<Record<string, number>> {
  const connection = await amqp.connect(url);
  try {
    const counts: Record<string, number> = {};
    for (const queue of queues) {
      // A channel per check: a queue that is not there closes the channel that asked.
      const channel = await connection.createChannel();
      channel.on('error', () => {});
      try {
        counts[queue] = (await channel.checkQueue(queue)).messageCount;
        await channel.close();
      } catch {
        // not a queue (an exchange), or gone
      }
    }
    return counts;
  } finally {
    await connection.close();
  }
}

async function countOutbox(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ present: boolean }>(
    `select to_regclass('outbox') is not null as present`,
  );
  if (!rows[0]?.present) return 0;
  const counted = await pool.query<{ n: string }>('select count(*) as n from outbox');
  return Number(counted.rows[0]?.n ?? 0);
}

/** The messages that ended in the error queue: type, id and why. */
export async function errorQueue(url: string, queue: string): Promise<string[]> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const found: string[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: false });
      if (!message) break;
      const headers = message.properties.headers ?? {};
      found.push(
        `${message.properties.type} ${message.properties.messageId} from ${String(headers[WIRE.sourceQueue])}: ${String(headers[WIRE.exceptionMessage])}`,
      );
    }
    await channel.close(); // unacked: they go back to the queue
    return found;
  } finally {
    await connection.close();
  }
}

/** What marketing counted, summed over its documents (first fillings, by filling). */
export async function marketingCounts(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ body: { counts?: Record<string, number> } }>(
    `select body from documents where partition = 'marketing'`,
  );
  const counts: Record<string, number> = {};
  for (const { body } of rows) {
    for (const [filling, n] of Object.entries(body.counts ?? {})) {
      counts[filling] = (counts[filling] ?? 0) + n;
    }
  }
  return counts;
}

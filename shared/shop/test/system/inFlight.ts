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
  /** How they were counted, for the report. */
  readonly via: string;
}

export function total(inFlight: InFlight): number {
  return Object.values(inFlight.queues).reduce((a, b) => a + b, 0) + inFlight.outboxRows;
}

/**
 * What the shop still has to do: messages in its queues (the delay queues of retries included)
 * and outbox rows. `rabbitmqctl` counts the messages being handled too, but it only sees the
 * local node, so its answer is trusted only when it lists every one of `mustList` (this run's
 * endpoint queues) in the URL's vhost; otherwise AMQP counts the waiting ones only (it tells no
 * more). Either way this is a hint for when to look: the verdict comes from {@link queueStates}
 * with every consumer stopped.
 */
export async function inFlight(
  amqpUrl: string,
  pool: pg.Pool,
  prefix: string,
  queues: readonly string[],
  mustList: readonly string[],
): Promise<InFlight> {
  const vhost = vhostOf(amqpUrl);
  const [listed, outboxRows] = await Promise.all([
    countWithRabbitmqctl(vhost, prefix).catch((error: NodeJS.ErrnoException) =>
      error.code === 'ENOENT'
        ? 'rabbitmqctl is not installed'
        : `rabbitmqctl failed: ${error.message.split('\n')[0]}`,
    ),
    countOutbox(pool),
  ]);
  const missing = typeof listed === 'string' ? [] : mustList.filter((q) => !(q in listed));
  if (typeof listed !== 'string' && missing.length === 0) {
    return {
      queues: listed,
      outboxRows,
      countsUnacked: true,
      via: `rabbitmqctl -p ${vhost} (waiting + being handled)`,
    };
  }
  const why =
    typeof listed === 'string'
      ? listed
      : `rabbitmqctl -p ${vhost} does not list ${missing.join(', ')} (another vhost or broker?)`;
  const work = queues.filter((q) => q !== `${prefix}error` && q !== `${prefix}events`);
  const states = await queueStates(amqpUrl, work);
  return {
    queues: Object.fromEntries([...states].map(([queue, state]) => [queue, state.ready])),
    outboxRows,
    countsUnacked: false,
    via: `AMQP (waiting only: ${why})`,
  };
}

/** The vhost an AMQP URL names ("/" when it names none). */
export function vhostOf(amqpUrl: string): string {
  const path = new URL(amqpUrl).pathname;
  return path.length > 1 ? decodeURIComponent(path.slice(1)) : '/';
}

async function countWithRabbitmqctl(
  vhost: string,
  prefix: string,
): Promise<Record<string, number>> {
  const { stdout } = await run(
    'rabbitmqctl',
    [
      '-q',
      'list_queues',
      '-p',
      vhost,
      '--no-table-headers',
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

export interface QueueState {
  /** Messages waiting (exact when nobody consumes: none can be unacked then). */
  readonly ready: number;
  readonly consumers: number;
}

/** Each queue's state as the broker tells it over AMQP; names that are not queues are left out. */
export async function queueStates(
  url: string,
  queues: readonly string[],
): Promise<Map<string, QueueState>> {
  const connection = await amqp.connect(url);
  try {
    const states = new Map<string, QueueState>();
    for (const queue of queues) {
      // A channel per check: a queue that is not there closes the channel that asked.
      const channel = await connection.createChannel();
      channel.on('error', () => {});
      try {
        const { messageCount, consumerCount } = await channel.checkQueue(queue);
        states.set(queue, { ready: messageCount, consumers: consumerCount });
        await channel.close();
      } catch {
        // not a queue (an exchange), or gone
      }
    }
    return states;
  } finally {
    await connection.close();
  }
}

/** Rows of the SQL outbox (0 when the shop has none). */
export async function countOutbox(pool: pg.Pool): Promise<number> {
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

/**
 * How many messages marketing's inbox says it processed (the SQL inbox keeps one row per message
 * id); undefined when the shop code keeps no such inbox.
 */
export async function marketingProcessed(pool: pg.Pool): Promise<number | undefined> {
  const { rows } = await pool.query<{ present: boolean }>(
    `select to_regclass('inbox') is not null as present`,
  );
  if (!rows[0]?.present) return undefined;
  const counted = await pool.query<{ n: string }>(
    `select count(*) as n from inbox where endpoint = 'marketing'`,
  );
  const n = Number(counted.rows[0]?.n ?? 0);
  return n > 0 ? n : undefined;
}

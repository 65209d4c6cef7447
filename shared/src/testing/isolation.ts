import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import pg from 'pg';
import { isMemoryBrokerUrl } from '../transports/connect.ts';

/**
 * What one test file owns: a prefix for every queue and exchange it declares and a Postgres
 * schema of its own, so test files can run in parallel against the same servers and leave
 * nothing behind.
 */
export interface Isolation {
  /** Unique per call, e.g. `smoke_k3j9x2`. */
  readonly id: string;
  /** Prefix for broker names, e.g. `test.smoke_k3j9x2`. */
  readonly prefix: string;
  /** The Postgres schema created for this isolation. */
  readonly schema: string;
  readonly amqpUrl: string;
  readonly databaseUrl: string;
  /** A broker name under this isolation's prefix; it is deleted (as queue and exchange) on cleanup. */
  name(base: string): string;
  /** Remembers a broker name created some other way, so cleanup deletes it too. */
  track(name: string): void;
  /** A pool whose connections use this isolation's schema (created on first use). */
  pool(): pg.Pool;
  /** Deletes the tracked queues and exchanges, drops the schema, closes the pool. */
  cleanup(): Promise<void>;
}

export interface IsolateOptions {
  /** Short words saying whose resources these are (the test file's name, say). */
  label: string;
  amqpUrl: string;
  databaseUrl: string;
}

export async function isolate(options: IsolateOptions): Promise<Isolation> {
  const label =
    options.label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 40) || 'test';
  const id = `${label}_${randomBytes(4).toString('hex')}`;
  const schema = `t_${id}`;
  const prefix = `test.${id}`;
  const brokerNames = new Set<string>();
  let pool: pg.Pool | undefined;

  await withClient(options.databaseUrl, (client) =>
    client.query(`create schema ${pg.escapeIdentifier(schema)}`),
  );

  return {
    id,
    prefix,
    schema,
    amqpUrl: options.amqpUrl,
    databaseUrl: options.databaseUrl,
    name(base) {
      const full = `${prefix}.${base}`;
      brokerNames.add(full);
      return full;
    },
    track(name) {
      brokerNames.add(name);
    },
    pool() {
      pool ??= new pg.Pool({
        connectionString: options.databaseUrl,
        options: `-c search_path=${schema}`,
      });
      return pool;
    },
    async cleanup() {
      // Every step runs even when another fails, so one problem does not leave the rest behind.
      const endingPool = pool;
      pool = undefined;
      const names = [...brokerNames];
      brokerNames.clear();
      const results = await Promise.allSettled([
        withDeadline(endingPool?.end(), 'closing the pool (a test kept a client checked out?)'),
        deleteBrokerNames(options.amqpUrl, names),
        withClient(options.databaseUrl, (client) =>
          client.query(`drop schema if exists ${pg.escapeIdentifier(schema)} cascade`),
        ),
      ]);
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      if (failures.length > 0) {
        throw new AggregateError(
          failures,
          `cleanup of ${id} failed: ${failures.map(String).join('; ')}`,
        );
      }
    },
  };
}

async function withDeadline(
  work: Promise<void> | undefined,
  what: string,
  ms = 10_000,
): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Each name is deleted both as a queue and as an exchange; deleting what is absent is fine. */
async function deleteBrokerNames(url: string, names: string[]): Promise<void> {
  // An in-memory broker goes with its transport: nothing is left on a server.
  if (names.length === 0 || isMemoryBrokerUrl(url)) return;
  const connection = await amqp.connect(url, { timeout: 10_000 });
  connection.on('error', () => {});
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {}); // a refused delete rejects its own call; this keeps it there
    for (const name of names) {
      await channel.deleteQueue(name);
      await channel.deleteExchange(name);
    }
    await channel.close();
  } finally {
    await connection.close();
  }
}

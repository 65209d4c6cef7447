import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import pg from 'pg';

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
      await pool?.end();
      pool = undefined;
      await deleteBrokerNames(options.amqpUrl, [...brokerNames]);
      brokerNames.clear();
      await withClient(options.databaseUrl, (client) =>
        client.query(`drop schema if exists ${pg.escapeIdentifier(schema)} cascade`),
      );
    },
  };
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Each name is deleted both as a queue and as an exchange; deleting what is absent is fine. */
async function deleteBrokerNames(url: string, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const name of names) {
      await channel.deleteQueue(name);
      await channel.deleteExchange(name);
    }
    await channel.close();
  } finally {
    await connection.close();
  }
}

import pg from 'pg';
import { createLogger, type Logger } from '../log/logger.ts';

/**
 * A Postgres pool that outlives its connections. A database restart, a failover or an
 * administrator's `pg_terminate_backend` kills connections: node-postgres then emits `'error'`
 * on the pool (an idle connection) or on the client (one in use), and an `'error'` event nobody
 * listens to ends the process. Here both are heard: a dead idle connection is dropped and
 * replaced by the pool, and what a connection in use was doing fails, so the message it served
 * is retried. Nothing else changes: what failed still fails, to its caller.
 */
export function createPool(config: pg.PoolConfig, logger?: Logger): pg.Pool {
  const pool = new pg.Pool(config);
  survivePoolErrors(pool, logger);
  return pool;
}

/** Makes an existing pool survive the loss of its connections (see {@link createPool}). */
export function survivePoolErrors(pool: pg.Pool, logger?: Logger): pg.Pool {
  const log = (logger ?? createLogger()).child({ component: 'database pool' });
  const reported = new WeakSet<object>();
  pool.on('error', (error, client) => {
    reported.add(client);
    log.warn(
      { err: error },
      `an idle database connection failed (${error.message}); the pool opens a new one when needed`,
    );
  });
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      // An idle connection's death reaches the pool's listener too, which may run after this
      // one: decide once both have run.
      queueMicrotask(() => {
        if (reported.has(client)) return; // idle: the pool said so already
        reported.add(client);
        log.warn(
          { err: error },
          `a database connection in use failed (${error.message}); what it was doing fails and is retried`,
        );
      });
    });
  });
  return pool;
}

/**
 * SQLSTATE classes and codes that say "the database cannot serve this now" rather than "this is
 * wrong": a connection lost or refused, the server shutting down or starting, too many clients,
 * a serialization failure or deadlock. Worth a retry.
 */
const TRANSIENT_CODES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01']);
const TRANSIENT_MESSAGES = [
  'Connection terminated',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
];
const TRANSIENT_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

/** Whether `error` is the database being unavailable for now (a retry may succeed). */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || TRANSIENT_CODES.has(code) || TRANSIENT_NETWORK.has(code)) {
      return true;
    }
  }
  return TRANSIENT_MESSAGES.some((text) => error.message.includes(text));
}

const guarded = new WeakSet<object>();

/**
 * Checks a client out of `pool` that cannot end the process if its connection dies while held:
 * the error reaches whoever waits on it (the query in flight fails), not an unheard `'error'`
 * event. For code that holds a client across several queries (a transaction).
 */
export async function checkOut(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on('error', () => {}); // the query in flight, if any, fails with this error
  }
  return client;
}

/**
 * Rolls back the transaction `client` has open. Returns the error if that failed too: the
 * connection is then unusable, and `client.release(error)` closes it rather than handing it on.
 */
export async function rollback(client: pg.ClientBase): Promise<Error | undefined> {
  try {
    await client.query('rollback');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

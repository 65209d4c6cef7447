import { DeadlineExceeded, describeConnectionError } from '@pierogi/shared';
import amqp from 'amqplib';
import pg from 'pg';
import { urlProblem } from './urls.ts';

/**
 * What kind of failure it was, so advice can fit it: nothing answers (start the server), the
 * server said no (credentials, virtual host, database), something else answers (wrong port), or
 * the URL itself is wrong.
 */
export type ProbeFailure = 'unreachable' | 'refused-login' | 'wrong-server' | 'invalid-url';

export type ProbeResult =
  | {
      ok: true;
      /** e.g. "RabbitMQ 3.13.7" */
      server: string;
    }
  | {
      ok: false;
      /** Why it failed, in words, without credentials. */
      reason: string;
      failure: ProbeFailure;
    };

export const DEFAULT_PROBE_TIMEOUT_MS = 3000;

/** Opens an AMQP connection, reads the server's product and version, closes it. Never throws. */
export async function probeBroker(
  url: string,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
): Promise<ProbeResult> {
  const problem = urlProblem('broker', url);
  if (problem) return { ok: false, reason: problem, failure: 'invalid-url' };
  try {
    const connection = await withDeadline(
      amqp.connect(url, { timeout: timeoutMs }),
      timeoutMs,
      (late) => late.close().catch(() => {}),
    );
    const properties = connection.connection.serverProperties;
    await connection.close().catch(() => {});
    return {
      ok: true,
      server: `${properties.product ?? 'AMQP broker'} ${properties.version ?? ''}`.trim(),
    };
  } catch (error) {
    return failed(error, timeoutMs);
  }
}

/** Connects to Postgres, runs one query, disconnects. Never throws. */
export async function probeDatabase(
  url: string,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
): Promise<ProbeResult> {
  const problem = urlProblem('database', url);
  if (problem) return { ok: false, reason: problem, failure: 'invalid-url' };
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  // A server that drops the connection later must not crash the caller.
  client.on('error', () => {});
  try {
    await withDeadline(client.connect(), timeoutMs);
    const result = await client.query<{ version: string }>('select version() as version');
    const version = result.rows[0]?.version ?? 'PostgreSQL';
    return { ok: true, server: version.split(' ').slice(0, 2).join(' ') };
  } catch (error) {
    return failed(error, timeoutMs);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Rejects when `ms` pass before `promise` settles. If the promise succeeds after the deadline,
 * `onLate` releases what it produced (a connection nobody will use).
 */
async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  onLate?: (value: T) => unknown,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      reject(new DeadlineExceeded(`no answer within ${ms} ms`));
    }, ms);
  });
  promise.then(
    (value) => {
      if (expired) onLate?.(value);
    },
    () => {},
  );
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function failed(error: unknown, timeoutMs: number): ProbeResult {
  const reason = describeConnectionError(error, timeoutMs);
  return {
    ok: false,
    reason,
    failure: REASON_FAILURE.find(([re]) => re.test(reason))?.[1] ?? 'unreachable',
  };
}

const REASON_FAILURE: [RegExp, ProbeFailure][] = [
  [
    /^authentication failed|password rejected|virtual host|database does not exist/,
    'refused-login',
  ],
  [/does not speak|wrong port|right kind of server/, 'wrong-server'],
];

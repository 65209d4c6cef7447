import type pg from 'pg';
import type { ReceivedMessage, Receiver, Transport } from '../bus/transport.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { WIRE } from '../messages/envelope.ts';
import { checkOut, isTransientDatabaseError, rollback } from '../store/pool.ts';

/** A message that gave up (or was refused) and waits for a person: what failed, where, and why. */
export interface FailedMessage {
  /** Its number here: what `show`, `retry` and `delete` take. */
  readonly id: string;
  readonly messageId: string | undefined;
  readonly type: string | undefined;
  /** `handler-failed`, `rejected`, or why it could not be read (`invalid-body`, …). */
  readonly reason: string;
  /** The last error's message. */
  readonly error: string;
  readonly stack: string | undefined;
  /** The endpoint it failed at: a retry sends it back there. */
  readonly endpoint: string | undefined;
  readonly sourceQueue: string | undefined;
  readonly attempts: number;
  readonly failedAt: string;
  /** How many times it was sent back from here before. */
  readonly retries: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body as it travelled (JSON, as text). */
  readonly body: string;
}

export interface FailedMessagesOptions {
  /** The table they are kept in, in the pool's schema. Default `failed_messages`. */
  readonly table?: 'failed_messages' | (string & {});
  readonly logger?: Logger;
}

/** A failed message that cannot be sent back as it is (it does not say where it came from). */
export class CannotSendBackError extends Error {
  override name = 'CannotSendBackError';
}

/** The headers the error queue adds, and the retry counters: all dropped when sent back. */
const FAILURE_HEADERS: readonly string[] = [
  WIRE.failureReason,
  WIRE.exceptionMessage,
  WIRE.exceptionStack,
  WIRE.sourceQueue,
  WIRE.sourceEndpoint,
  WIRE.attempts,
  WIRE.failedAt,
  WIRE.previousAttempts,
  WIRE.delayedRetries,
];

interface Row {
  id: string;
  message_id: string | null;
  type: string | null;
  headers: Record<string, string>;
  body: string;
  failed_at: Date;
}

/**
 * The error queue, kept where a person can look at it: failed messages are taken off the queue
 * into a table (each one acked only once its row is stored), listed, shown, sent back to the
 * endpoint they failed at with their retry counters reset, or deleted. "In the error queue" is
 * not "lost": this is how such a message comes back.
 *
 * Sending back goes first, deleting the row after: a crash in between sends it again later, and
 * the endpoint's deduplication drops the copy (its id is the same).
 */
export class FailedMessages {
  private readonly table: string;
  private readonly log: Logger;
  private receiver: Receiver | undefined;
  private inFlight = 0;
  /** Failures in a row to keep a message (the database away): each waits longer, up to 5 s. */
  private keepFailures = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly transport: Transport,
    options: FailedMessagesOptions = {},
  ) {
    const table = options.table ?? 'failed_messages';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table)) {
      throw new Error(`table ${JSON.stringify(table)}: use lower-case letters, digits and "_"`);
    }
    this.table = table; // checked above: safe to name in SQL
    this.log = (options.logger ?? createLogger()).child({ component: 'failed messages' });
  }

  async install(): Promise<void> {
    await this.pool.query(`
      create table if not exists ${this.table} (
        id bigserial primary key,
        message_id text,
        type text,
        headers jsonb not null,
        body text not null,
        failed_at timestamptz not null
      );
      create unique index if not exists ${this.table}_once
        on ${this.table} (coalesce(message_id, ''), failed_at)`);
  }

  /** Takes failed messages off the error queue into the table as they come, until `stop()`. */
  async start(): Promise<void> {
    if (this.receiver) return;
    this.receiver = await this.transport.receiveRaw(this.transport.errorQueue, async (raw) => {
      this.inFlight++;
      try {
        await this.keep(raw);
        this.keepFailures = 0;
        return { kind: 'ack' };
      } catch (error) {
        // Not kept, not acked: it goes back to the queue. Wait first, or a database that is away
        // makes this a loop as fast as the broker can hand the same message back.
        const waitMs = Math.min(200 * 2 ** this.keepFailures++, 5_000);
        if (this.keepFailures === 1) {
          this.log.warn({ err: error }, 'could not keep a failed message; it stays in the queue');
        }
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        throw error;
      } finally {
        this.inFlight--;
      }
    });
  }

  async stop(): Promise<void> {
    const receiver = this.receiver;
    this.receiver = undefined;
    await receiver?.stop();
  }

  /**
   * Takes what waits in the error queue now into the table, and returns once none waits (or after
   * `timeoutMs`). For a tool that looks once, where no shop is running to take them as they come.
   */
  async takeWaiting(timeoutMs = 10_000): Promise<void> {
    const running = this.receiver !== undefined;
    await this.start();
    const deadline = Date.now() + timeoutMs;
    try {
      while (
        (await this.transport.messageCount(this.transport.errorQueue)) > 0 ||
        this.inFlight > 0
      ) {
        if (Date.now() > deadline) {
          throw new Error(
            `the error queue ${this.transport.errorQueue} still had messages after ${timeoutMs} ms`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      if (!running) await this.stop();
    }
  }

  /** Every failed message, oldest first. */
  async list(): Promise<FailedMessage[]> {
    const { rows } = await this.pool.query<Row>(`select * from ${this.table} order by id`);
    return rows.map((row) => this.toFailedMessage(row));
  }

  async get(id: string): Promise<FailedMessage | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const { rows } = await this.pool.query<Row>(`select * from ${this.table} where id = $1`, [id]);
    return rows[0] ? this.toFailedMessage(rows[0]) : undefined;
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `select count(*)::int as n from ${this.table}`,
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * Sends one back to the endpoint it failed at, as a new first delivery (its id, body and
   * conversation unchanged; the failure headers and retry counters gone), then forgets it.
   * False when there is no such message here.
   */
  async retry(id: string): Promise<boolean> {
    if (!/^\d{1,18}$/.test(id)) return false;
    // The row is locked while its message is sent and deleted only then, in one transaction: a
    // second retry (or a delete) of the same one waits, then finds it gone; a failed send leaves
    // it here; a crash before the commit sends it again later (the endpoint drops the copy).
    const client = await checkOut(this.pool);
    let broken: Error | undefined;
    try {
      await client.query('begin');
      const { rows } = await client.query<Row>(
        `select * from ${this.table} where id = $1 for update`,
        [id],
      );
      const row = rows[0];
      if (!row) {
        await client.query('rollback');
        return false;
      }
      const failed = this.toFailedMessage(row);
      if (!failed.endpoint) {
        throw new CannotSendBackError(
          `failed message ${id} does not say which endpoint it failed at: it cannot be sent back (delete it, or send it by hand)`,
        );
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(failed.headers)) {
        if (!FAILURE_HEADERS.includes(name)) headers[name] = value;
      }
      headers[WIRE.retriesFromErrorQueue] = String(failed.retries + 1);
      await this.transport.dispatch({
        message: {
          messageId: failed.messageId,
          type: failed.type,
          headers,
          body: Buffer.from(failed.body, 'utf8'),
        },
        destination: { kind: 'send', endpoint: failed.endpoint },
      });
      await client.query(`delete from ${this.table} where id = $1`, [id]);
      await client.query('commit');
      this.log.info(
        { id, messageId: failed.messageId, endpoint: failed.endpoint },
        `sent ${failed.type} back to ${failed.endpoint}`,
      );
      return true;
    } catch (error) {
      broken = await rollback(client);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Sends every failed message back, oldest first; returns how many went. */
  async retryAll(): Promise<number> {
    let sent = 0;
    for (const failed of await this.list()) {
      if (failed.endpoint && (await this.retry(failed.id))) sent++;
    }
    return sent;
  }

  /** Forgets one for good. False when there is no such message here. */
  async delete(id: string): Promise<boolean> {
    if (!/^\d{1,18}$/.test(id)) return false;
    const { rowCount } = await this.pool.query(`delete from ${this.table} where id = $1`, [id]);
    return rowCount === 1;
  }

  private async keep(raw: ReceivedMessage): Promise<void> {
    const failedAt = new Date(raw.headers[WIRE.failedAt] ?? Number.NaN);
    const at = Number.isNaN(failedAt.getTime()) ? new Date() : failedAt;
    const headers = Object.fromEntries(
      Object.entries(raw.headers).map(([name, value]) => [printable(name), printable(value)]),
    );
    const insert = (values: unknown[]) =>
      // The same failure delivered twice (acked late, after a crash) is kept once.
      this.pool.query(
        `insert into ${this.table} (message_id, type, headers, body, failed_at)
         values ($1, $2, $3, $4, $5) on conflict do nothing`,
        values,
      );
    try {
      await insert([
        raw.messageId === undefined ? null : printable(raw.messageId),
        raw.type === undefined ? null : printable(raw.type),
        headers,
        printable(raw.body.toString('utf8')),
        at,
      ]);
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error; // the database away: try again later
      // What the database cannot take as it came is kept as bytes, with why: a message at the
      // head of the queue that can never be kept would hold back every one behind it.
      await insert([
        null,
        raw.type === undefined ? null : printable(raw.type),
        {
          [WIRE.failureReason]: 'unreadable',
          [WIRE.exceptionMessage]: `kept as base64: it could not be kept as it came (${(error as Error).message})`,
        },
        raw.body.toString('base64'),
        at,
      ]);
    }
    this.log.warn(
      {
        messageId: raw.messageId,
        messageType: raw.type,
        reason: raw.headers[WIRE.failureReason],
        endpoint: raw.headers[WIRE.sourceEndpoint],
      },
      `in the error queue: ${raw.type ?? 'a message'} (${raw.headers[WIRE.exceptionMessage] ?? 'no reason given'})`,
    );
  }

  private toFailedMessage(row: Row): FailedMessage {
    const h = row.headers;
    // Messages that failed before `x-source-endpoint` existed name their queue only.
    const prefix = this.transport.errorQueue.replace(/error$/, '');
    const queue = h[WIRE.sourceQueue];
    const fromQueue = queue?.startsWith(prefix) ? queue.slice(prefix.length) : undefined;
    return {
      id: String(row.id),
      messageId: row.message_id ?? undefined,
      type: row.type ?? undefined,
      reason: h[WIRE.failureReason] ?? 'unknown',
      error: h[WIRE.exceptionMessage] ?? '',
      stack: h[WIRE.exceptionStack],
      endpoint: h[WIRE.sourceEndpoint] ?? fromQueue,
      sourceQueue: h[WIRE.sourceQueue],
      attempts: Number(h[WIRE.attempts] ?? 0) || 0,
      failedAt: row.failed_at.toISOString(),
      retries: Number(h[WIRE.retriesFromErrorQueue] ?? 0) || 0,
      headers: h,
      body: row.body,
    };
  }
}

/** Text Postgres can store: a NUL (which it refuses in text and JSON) becomes U+FFFD. */
function printable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

import pg from 'pg';
import { captureOutgoing, startCapturing } from '../bus/capture.ts';
import type { IncomingContext, OutgoingOperation } from '../bus/context.ts';
import type { Endpoint } from '../bus/endpoint.ts';
import { PLAIN_STEPS, type StepHook } from '../bus/steps.ts';

const TRANSACTION = Symbol('sql transaction');
/** Postgres NOTIFY channel on which an endpoint's name says it has rows waiting. */
export const NOTIFY_CHANNEL = 'outbox_pending';

/**
 * The classic transactional outbox + inbox on Postgres. For each incoming message, one
 * transaction holds the inbox row (the message id), the handler's business rows and a row per
 * outgoing message. After the commit the outgoing messages are dispatched and their rows
 * deleted; a crash in between leaves the rows for the next delivery or the background
 * dispatcher.
 *
 * Guarantees: the business change and the messages it causes are committed together (no ghost,
 * no lost message); a message whose inbox row exists is not processed again (no duplicate);
 * outgoing ids are stored, so a re-dispatch sends the same ids (downstream can deduplicate).
 */
export class SqlOutboxInbox {
  private endpoint: Endpoint | undefined;
  private readonly steps: StepHook;
  private readonly onDuplicate: ((context: IncomingContext) => void) | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly endpointName: string,
    options: {
      steps?: StepHook;
      /** Told of each message the inbox drops (a log line, a metric). */
      onDuplicate?: (context: IncomingContext) => void;
    } = {},
  ) {
    this.steps = options.steps ?? PLAIN_STEPS;
    this.onDuplicate = options.onDuplicate;
  }

  /** Creates the inbox and outbox tables in the pool's schema, if missing. */
  async install(): Promise<void> {
    await this.pool.query(`
      create table if not exists inbox (
        endpoint text not null,
        message_id text not null,
        processed_at timestamptz not null default now(),
        primary key (endpoint, message_id)
      );
      create table if not exists outbox (
        id bigserial primary key,
        endpoint text not null,
        owner_message_id text not null,
        operation jsonb not null,
        created_at timestamptz not null default now()
      );
      create index if not exists outbox_owner on outbox (endpoint, owner_message_id);
    `);
  }

  /** Adds the middleware to the endpoint, after (inside) the middleware it already has. */
  use(endpoint: Endpoint): Endpoint {
    if (endpoint.name !== this.endpointName) {
      throw new Error(`this outbox belongs to ${this.endpointName}, not ${endpoint.name}`);
    }
    this.endpoint = endpoint;
    return endpoint.use({ incoming: this.incoming, outgoing: captureOutgoing });
  }

  /** The transaction of the message being handled: business writes go through it. */
  static transaction(context: { items: Map<string | symbol, unknown> }): pg.PoolClient {
    const client = context.items.get(TRANSACTION) as pg.PoolClient | undefined;
    if (!client) throw new Error('no SQL transaction: is the SqlOutboxInbox middleware installed?');
    return client;
  }

  private readonly incoming = async (
    context: IncomingContext,
    next: () => Promise<void>,
  ): Promise<void> => {
    const messageId = context.message.id;
    const client = await this.pool.connect();
    let committed = false;
    let broken: Error | undefined;
    let duplicate = false;
    let captured: OutgoingOperation[] = [];
    try {
      // The inbox row first: a second copy waits here until the first commits, then sees it.
      // (Several statements in one round trip, so values go in as escaped literals.)
      const [, inserted] = (await client.query(
        `begin; insert into inbox (endpoint, message_id) values (${literal(this.endpointName)}, ${literal(messageId)}) on conflict do nothing`,
      )) as unknown as pg.QueryResult[];
      if (inserted?.rowCount === 0) {
        await client.query('rollback');
        duplicate = true;
      } else {
        context.items.set(TRANSACTION, client);
        captured = startCapturing(context);
        await next();
        // The outgoing messages and the commit in one round trip.
        const rows = captured.map(
          (operation) =>
            `(${literal(this.endpointName)}, ${literal(messageId)}, ${literal(JSON.stringify(operation))}::jsonb)`,
        );
        const insertOutbox =
          rows.length > 0
            ? `insert into outbox (endpoint, owner_message_id, operation) values ${rows.join(', ')}; `
            : '';
        await this.steps.around('commit', context.message, () =>
          client.query(`${insertOutbox}commit`),
        );
        committed = true;
      }
    } catch (error) {
      if (!committed) broken = await rollback(client);
      throw error;
    } finally {
      context.items.delete(TRANSACTION);
      client.release(broken); // a connection that could not roll back is closed, not reused
    }
    if (duplicate) {
      try {
        this.onDuplicate?.(context);
      } catch {
        // A report, nothing more: it must not stand between the copy and its pending messages.
      }
      // Processed before; its messages may still be waiting if that attempt died after its
      // commit. Sent with a connection of its own, once this one is back in the pool: holding
      // two at a time, a burst of duplicates could take every connection and wait forever.
      await this.dispatchPending(messageId);
      return;
    }
    // After the commit, never before: a message must not leave for a change that may roll back.
    try {
      await this.steps.around('after-commit', context.message, () =>
        this.dispatchCommitted(messageId, captured),
      );
    } catch (error) {
      // The rows are committed; wake the background dispatcher so they do not wait for a retry.
      await this.pool
        .query('select pg_notify($1, $2)', [NOTIFY_CHANNEL, this.endpointName])
        .catch(() => {});
      throw error;
    }
  };

  /**
   * The fast path right after a commit: the messages are in hand, so send them, then delete
   * their rows without waiting for that delete to reach the disk (synchronous_commit off).
   * Losing the delete in a crash only means sending the same messages again, with the same
   * ids, which downstream deduplicates; losing the sends is impossible, the rows are committed.
   */
  private async dispatchCommitted(
    ownerMessageId: string,
    operations: OutgoingOperation[],
  ): Promise<void> {
    const endpoint = this.endpoint;
    if (!endpoint) throw new Error('call use(endpoint) before dispatching');
    if (operations.length === 0) return;
    await this.steps.around('dispatch', { type: 'outbox' }, () => endpoint.dispatch(operations));
    this.deleteSoon(ownerMessageId);
  }

  private readonly dispatched: string[] = [];
  private deleting: Promise<void> | undefined;

  /**
   * The rows of dispatched messages are deleted a few at a time, one statement for all the
   * messages dispatched in the last couple of milliseconds, rather than one round trip each.
   */
  private deleteSoon(ownerMessageId: string): void {
    this.dispatched.push(ownerMessageId);
    this.scheduleDelete();
  }

  private scheduleDelete(): void {
    if (this.deleting || this.dispatched.length === 0) return;
    this.deleting = new Promise((resolve) => setTimeout(resolve, 2))
      .then(() => this.deleteDispatched())
      .finally(() => {
        this.deleting = undefined;
        this.scheduleDelete();
      });
  }

  private async deleteDispatched(): Promise<void> {
    const owners = this.dispatched.splice(0);
    if (owners.length === 0) return;
    try {
      await this.pool.query(
        `begin; set local synchronous_commit to off; delete from outbox where endpoint = ${literal(this.endpointName)} and owner_message_id in (${owners.map(literal).join(', ')}); commit;`,
      );
    } catch {
      // The rows stay; the background dispatcher or a redelivery sends them again (same ids).
    }
  }

  /** Waits until the rows of messages dispatched so far are deleted (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.deleting) await this.deleting;
  }

  /**
   * Sends the stored messages of one incoming message and deletes their rows, in one
   * transaction: the rows are locked while they are sent (a background dispatcher skips them)
   * and come back if sending fails.
   */
  async dispatchPending(ownerMessageId: string): Promise<number> {
    return this.dispatchWhere('owner_message_id = $2', [ownerMessageId]);
  }

  /**
   * Sends what a crash left behind, oldest first, rows at least `minAgeMs` old (younger ones are
   * probably being sent right now), skipping rows another dispatcher holds.
   */
  async dispatchLeftovers(limit = 100, minAgeMs = 0): Promise<number> {
    return this.dispatchWhere(
      `id in (select id from outbox where endpoint = $1 and created_at <= now() - make_interval(secs => $3::float / 1000)
              order by id limit $2 for update skip locked)`,
      [limit, minAgeMs],
    );
  }

  /** Deletes inbox rows older than `retentionMs`, `batch` at a time; returns how many went. */
  async cleanupInbox(retentionMs: number, batch = 1_000): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        `delete from inbox where ctid in (
           select ctid from inbox where endpoint = $1 and processed_at < now() - make_interval(secs => $2::float / 1000)
           limit $3)`,
        [this.endpointName, retentionMs, batch],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) return total;
    }
  }

  private async dispatchWhere(condition: string, parameters: unknown[]): Promise<number> {
    const endpoint = this.endpoint;
    if (!endpoint) throw new Error('call use(endpoint) before dispatching');
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('begin');
      const { rows } = await client.query<{ operation: OutgoingOperation }>(
        `delete from outbox where endpoint = $1 and ${condition} returning operation`,
        [this.endpointName, ...parameters],
      );
      const operations = rows.map((r) => r.operation);
      await this.steps.around('dispatch', { type: 'outbox' }, () => endpoint.dispatch(operations));
      await client.query('commit');
      return rows.length;
    } catch (error) {
      broken = await rollback(client);
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

/** A string as a Postgres literal, for the statements sent several at a time. */
function literal(value: string): string {
  return pg.escapeLiteral(value);
}

/** Rolls back; the error if that failed too (the connection is then unusable). */
async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query('rollback');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

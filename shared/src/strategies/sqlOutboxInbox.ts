import type pg from 'pg';
import { captureOutgoing, startCapturing } from '../bus/capture.ts';
import type { IncomingContext, OutgoingOperation } from '../bus/context.ts';
import type { Endpoint } from '../bus/endpoint.ts';
import { PLAIN_STEPS, type StepHook } from '../bus/steps.ts';
import { PgInboxStore } from '../store/inboxStore.ts';
import { checkOut, rollback } from '../store/pool.ts';

/** Postgres NOTIFY channel on which an endpoint's name says it has rows waiting. */
export const NOTIFY_CHANNEL = 'outbox_pending';

/**
 * The classic transactional outbox + inbox on Postgres. For each incoming message, one
 * transaction holds the inbox row (the message id), the handler's business rows and a row per
 * outgoing message. After the commit the outgoing messages are dispatched and their rows
 * deleted; a crash in between leaves the rows for the next delivery or the background
 * dispatcher.
 *
 * The transaction is the message's: it is on the unit of work (`context.work.transaction`)
 * while the handler runs, and the stores the handler takes from the unit of work write in it.
 *
 * Guarantees: the business change and the messages it causes are committed together (no ghost,
 * no lost message); a message whose inbox row exists is not processed again (no duplicate);
 * outgoing ids are stored, so a re-dispatch sends the same ids (downstream can deduplicate).
 *
 * Every statement names its tables from a fixed set and passes every value as a parameter.
 */
export class SqlOutboxInbox {
  /** The steps a chaos rule can name. */
  static readonly STEPS = ['commit', 'after-commit', 'dispatch'] as const;

  private endpoint: Endpoint | undefined;
  private readonly steps: StepHook<SqlOutboxInboxStep>;
  private readonly onDuplicate: ((context: IncomingContext) => void) | undefined;
  /** The inbox table: one rule for its rows and their cleanup, shared with `PgInboxStore`. */
  private readonly inbox: PgInboxStore;

  constructor(
    private readonly pool: pg.Pool,
    private readonly endpointName: string,
    options: {
      /** Runs each step (`commit`, `after-commit`, `dispatch`): chaos, for one. */
      steps?: StepHook<SqlOutboxInboxStep>;
      /** Told of each message the inbox drops (a log line, a metric). */
      onDuplicate?: (context: IncomingContext) => void;
    } = {},
  ) {
    this.steps = options.steps ?? PLAIN_STEPS;
    this.onDuplicate = options.onDuplicate;
    this.inbox = new PgInboxStore(pool, endpointName);
  }

  /** Creates the inbox and outbox tables in the pool's schema, if missing. */
  async install(): Promise<void> {
    await this.inbox.install();
    await this.pool.query(`
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

  private readonly incoming = async (
    context: IncomingContext,
    next: () => Promise<void>,
  ): Promise<void> => {
    const messageId = context.message.id;
    const client = await checkOut(this.pool);
    let committed = false;
    let broken: Error | undefined;
    let duplicate = false;
    let captured: OutgoingOperation[] = [];
    try {
      await client.query('begin');
      // The inbox row first: a second copy waits here until the first commits, then sees it.
      if (!(await this.inbox.claim(client, messageId))) {
        await client.query('rollback');
        duplicate = true;
      } else {
        context.work.transaction = client;
        captured = startCapturing(context);
        await next();
        await this.steps.around('commit', context.message, async () => {
          if (captured.length > 0) {
            await client.query(
              `insert into outbox (endpoint, owner_message_id, operation)
               select $1, $2, unnest($3::jsonb[])`,
              [
                this.endpointName,
                messageId,
                captured.map((operation) => JSON.stringify(operation)),
              ],
            );
          }
          const { command } = await client.query('commit');
          // A statement that failed inside the transaction aborts it, and COMMIT then rolls it
          // back without an error: the handler must have caught and hidden a failure.
          if (command !== 'COMMIT') {
            throw new Error(
              `the transaction of ${context.message.type} ${messageId} was rolled back, not committed: a statement in it failed (did the handler catch an error and go on?)`,
            );
          }
        });
        committed = true;
      }
    } catch (error) {
      if (!committed) broken = await rollback(client);
      throw error;
    } finally {
      context.work.transaction = undefined;
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
      await this.dispatchPending(messageId, context.message);
      return;
    }
    // After the commit, never before: a message must not leave for a change that may roll back.
    try {
      await this.steps.around('after-commit', context.message, () =>
        this.dispatchCommitted(context.message, captured),
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
    message: { id: string; type: string; body: unknown },
    operations: OutgoingOperation[],
  ): Promise<void> {
    const endpoint = this.endpoint;
    if (!endpoint) throw new Error('call use(endpoint) before dispatching');
    if (operations.length === 0) return;
    await this.steps.around('dispatch', message, () => endpoint.dispatch(operations));
    this.deleteSoon(message.id);
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
    let client: pg.PoolClient | undefined;
    let broken: Error | undefined;
    try {
      client = await checkOut(this.pool);
      await client.query('begin');
      await client.query('set local synchronous_commit to off');
      await client.query(
        'delete from outbox where endpoint = $1 and owner_message_id = any($2::text[])',
        [this.endpointName, owners],
      );
      await client.query('commit');
    } catch {
      // The rows stay; the background dispatcher or a redelivery sends them again (same ids).
      if (client) broken = await rollback(client);
    } finally {
      client?.release(broken);
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
  async dispatchPending(
    ownerMessageId: string,
    message: StepTarget = { id: ownerMessageId },
  ): Promise<number> {
    return this.dispatchRows('of one message', [ownerMessageId], message);
  }

  /**
   * Sends what a crash left behind, oldest first, rows at least `minAgeMs` old (younger ones are
   * probably being sent right now), skipping rows another dispatcher holds.
   */
  async dispatchLeftovers(limit = 100, minAgeMs = 0): Promise<number> {
    return this.dispatchRows('left over', [limit, minAgeMs], { type: 'outbox leftovers' });
  }

  /** Deletes inbox rows older than `retentionMs`, `batch` at a time; returns how many went. */
  cleanupInbox(retentionMs: number, batch = 1_000): Promise<number> {
    return this.inbox.cleanup(retentionMs, batch);
  }

  /**
   * Takes rows and sends them, as the step `dispatch` of `target` (the message whose rows they
   * are, when it is known). No rows: nothing is sent, and no step runs.
   */
  private async dispatchRows(
    which: keyof typeof TAKE_ROWS,
    parameters: unknown[],
    target: StepTarget,
  ): Promise<number> {
    const endpoint = this.endpoint;
    if (!endpoint) throw new Error('call use(endpoint) before dispatching');
    const client = await checkOut(this.pool);
    let broken: Error | undefined;
    try {
      await client.query('begin');
      const { rows } = await client.query<{ operation: OutgoingOperation }>(TAKE_ROWS[which], [
        this.endpointName,
        ...parameters,
      ]);
      const operations = rows.map((r) => r.operation);
      if (operations.length > 0) {
        await this.steps.around('dispatch', target, () => endpoint.dispatch(operations));
      }
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

/** The steps of SqlOutboxInbox a chaos rule can name. */
export type SqlOutboxInboxStep = (typeof SqlOutboxInbox.STEPS)[number];

/** What a chaos rule at a step can select by. */
type StepTarget = Parameters<StepHook['around']>[1];

/** The two ways rows are taken to be sent: `$1` is always the endpoint. */
const TAKE_ROWS = {
  'of one message':
    'delete from outbox where endpoint = $1 and owner_message_id = $2 returning operation',
  'left over': `delete from outbox where endpoint = $1 and id in (
      select id from outbox
      where endpoint = $1 and created_at <= now() - make_interval(secs => $3::float / 1000)
      order by id limit $2 for update skip locked)
    returning operation`,
} as const;

import type pg from 'pg';
import type { Logger } from '../log/logger.ts';
import { createLogger } from '../log/logger.ts';
import { NOTIFY_CHANNEL, type SqlOutboxInbox } from './sqlOutboxInbox.ts';

export interface OutboxDispatcherOptions {
  /** Poll this often for rows nothing announced (a crash between commit and notify). Default 1 s. */
  readonly pollMs?: number;
  /** Inbox rows older than this are deleted on each poll. Must outlive the retry horizon. Default 1 day. */
  readonly inboxRetentionMs?: number;
  readonly logger?: Logger;
}

/**
 * Finishes what the inline dispatch could not: woken at once by a NOTIFY when an inline dispatch
 * fails, and polling as the fallback. Several instances may run: each takes rows with
 * FOR UPDATE SKIP LOCKED, so none waits for another and no row is sent by two at once.
 */
export class OutboxDispatcher {
  /** The connection that LISTENs, and how to let go of it. */
  private listening: { client: pg.PoolClient; detach: () => void } | undefined;
  /** A LISTEN connection being opened (stop waits for it). */
  private opening: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The one pending attempt to listen again, if any. */
  private relisten: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(
    private readonly pool: pg.Pool,
    private readonly outboxes: Readonly<Record<string, SqlOutboxInbox>>,
    private readonly options: OutboxDispatcherOptions = {},
  ) {
    this.log = (options.logger ?? createLogger()).child({ component: 'outbox dispatcher' });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.listen();
    const pollMs = this.options.pollMs ?? 1_000;
    this.timer = setInterval(() => {
      for (const outbox of Object.values(this.outboxes)) this.schedule(outbox, pollMs);
      this.cleanup();
    }, pollMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.relisten);
    this.relisten = undefined;
    await this.opening?.catch(() => {});
    await this.running;
    const listening = this.listening;
    this.listening = undefined;
    if (listening) {
      await listening.client.query(`unlisten ${NOTIFY_CHANNEL}`).catch(() => {});
      listening.detach();
      listening.client.release();
    }
  }

  /**
   * Opens a connection that LISTENs for NOTIFYs. If the database kills it, the dispatcher lets
   * it go and opens another, backing off up to 5 s; polling goes on meanwhile, so nothing waits
   * longer than a poll.
   */
  private listen(): Promise<void> {
    const opening = this.open().finally(() => {
      if (this.opening === opening) this.opening = undefined;
    });
    this.opening = opening;
    return opening;
  }

  private async open(): Promise<void> {
    const client = await this.pool.connect();
    const onNotification = (n: pg.Notification) => {
      const outbox = n.payload ? this.outboxes[n.payload] : undefined;
      if (outbox) this.schedule(outbox, 0);
    };
    const onError = (error: Error) => this.lost(client, error);
    const ignore = () => {};
    let detached = false;
    const detach = () => {
      if (detached) return;
      detached = true;
      client.off('notification', onNotification);
      client.off('error', onError);
      // A connection back in the pool may still report its death: heard, and left to the pool.
      client.on('error', ignore);
    };
    client.on('notification', onNotification);
    client.on('error', onError);
    try {
      await client.query(`listen ${NOTIFY_CHANNEL}`);
    } catch (error) {
      detach();
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    if (this.stopped) {
      detach();
      client.release();
      return;
    }
    this.listening = { client, detach };
  }

  /** The LISTEN connection died: let it go (it leaves the pool), and listen again later. */
  private lost(client: pg.PoolClient, error: Error): void {
    const listening = this.listening;
    if (listening?.client !== client) return; // not (or no longer) ours to release
    this.listening = undefined;
    listening.detach();
    client.release(error);
    if (this.stopped) return;
    this.log.warn(
      { err: error },
      'lost the connection that listens for outbox notifications; polling covers the gap while it reconnects',
    );
    this.listenAgain(1);
  }

  /** One attempt at a time: a failure schedules the next, with a longer wait. */
  private listenAgain(attempt: number): void {
    if (this.stopped || this.relisten) return;
    const delayMs = Math.min(100 * 2 ** attempt, 5_000);
    this.relisten = setTimeout(() => {
      this.relisten = undefined;
      if (this.stopped) return;
      this.listen().then(
        () => {
          if (this.listening) this.log.info('listening for outbox notifications again');
        },
        () => this.listenAgain(attempt + 1),
      );
    }, delayMs);
  }

  /** Dispatches leftovers until none is left; runs one batch loop at a time. */
  private schedule(outbox: SqlOutboxInbox, minAgeMs: number): void {
    this.running = this.running.then(async () => {
      try {
        let sent = 0;
        for (
          let n = await outbox.dispatchLeftovers(100, minAgeMs);
          n > 0;
          n = await outbox.dispatchLeftovers(100, minAgeMs)
        ) {
          sent += n;
        }
        if (sent > 0) this.log.info({ sent }, 'sent messages left in the outbox');
      } catch (error) {
        this.log.warn({ err: error }, 'could not send outbox leftovers; will try again');
      }
    });
  }

  private cleanup(): void {
    const retention = this.options.inboxRetentionMs ?? 24 * 60 * 60 * 1000;
    this.running = this.running.then(async () => {
      for (const outbox of Object.values(this.outboxes)) {
        await outbox
          .cleanupInbox(retention)
          .catch((error: unknown) => this.log.warn({ err: error }, 'inbox cleanup failed'));
      }
    });
  }
}

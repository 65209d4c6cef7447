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
  private listener: pg.PoolClient | undefined;
  private timer: NodeJS.Timeout | undefined;
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
    await this.running;
    const listener = this.listener;
    this.listener = undefined;
    if (listener) {
      await listener.query(`unlisten ${NOTIFY_CHANNEL}`).catch(() => {});
      listener.release();
    }
  }

  /**
   * Holds a connection that LISTENs for NOTIFYs. If the database kills it, the dispatcher opens
   * another, backing off up to 5 s; polling goes on meanwhile, so nothing waits longer than a poll.
   */
  private async listen(): Promise<void> {
    const client = await this.pool.connect();
    let lost = false;
    const onLost = (error: Error) => {
      if (lost) return;
      lost = true;
      if (this.listener === client) this.listener = undefined;
      client.release(error); // a dead connection leaves the pool
      if (this.stopped) return;
      this.log.warn(
        { err: error },
        'lost the connection that listens for outbox notifications; polling covers the gap while it reconnects',
      );
      this.listenAgain(1);
    };
    client.on('error', onLost);
    client.on('notification', (n) => {
      const outbox = n.payload ? this.outboxes[n.payload] : undefined;
      if (outbox) this.schedule(outbox, 0);
    });
    try {
      await client.query(`listen ${NOTIFY_CHANNEL}`);
    } catch (error) {
      onLost(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    this.listener = client;
  }

  private listenAgain(attempt: number): void {
    const delayMs = Math.min(100 * 2 ** attempt, 5_000);
    this.relisten = setTimeout(() => {
      if (this.stopped) return;
      this.listen().then(
        () => this.log.info('listening for outbox notifications again'),
        () => {
          if (!this.stopped && !this.listener) this.listenAgain(attempt + 1);
        },
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

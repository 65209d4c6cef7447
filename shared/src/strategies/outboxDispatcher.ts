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
    const listener = await this.pool.connect();
    listener.on('notification', (n) => {
      const outbox = n.payload ? this.outboxes[n.payload] : undefined;
      if (outbox) this.schedule(outbox, 0);
    });
    await listener.query(`listen ${NOTIFY_CHANNEL}`);
    this.listener = listener;
    const pollMs = this.options.pollMs ?? 1_000;
    this.timer = setInterval(() => {
      for (const outbox of Object.values(this.outboxes)) this.schedule(outbox, pollMs);
      this.cleanup();
    }, pollMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    if (this.listener) {
      await this.listener.query(`unlisten ${NOTIFY_CHANNEL}`).catch(() => {});
      this.listener.release();
      this.listener = undefined;
    }
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

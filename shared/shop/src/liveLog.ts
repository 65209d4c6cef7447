import { EventEmitter } from 'node:events';
import type { Chaos, HandlerContext, IncomingMiddleware } from '@pierogi/shared';

/** One line of the page's live message log. */
export interface LogEntry {
  readonly seq: number;
  readonly at: string;
  readonly kind: 'sent' | 'handled' | 'failed' | 'duplicate' | 'chaos';
  readonly endpoint: string;
  readonly messageType: string | undefined;
  readonly messageId: string | undefined;
  readonly text: string;
}

/**
 * What happened in the shop, as the page shows it: each delivery handled or failed, each
 * duplicate a handler dropped, each chaos injection. Keeps the last `size` entries for a page that
 * connects late.
 */
export class LiveLog extends EventEmitter<{ entry: [LogEntry] }> {
  private readonly entries: LogEntry[] = [];
  private seq = 0;

  constructor(private readonly size = 500) {
    super();
  }

  add(entry: Omit<LogEntry, 'seq' | 'at'>): LogEntry {
    const full = { ...entry, seq: ++this.seq, at: new Date().toISOString() };
    this.entries.push(full);
    if (this.entries.length > this.size) this.entries.shift();
    this.emit('entry', full);
    return full;
  }

  recent(): readonly LogEntry[] {
    return [...this.entries];
  }

  /**
   * A line for a delivery dropped as a duplicate; its delivery then gets no "handled" line (it
   * was not handled, whatever the handler did to say so).
   */
  duplicate(context: HandlerContext, why: string): void {
    context.work.dropped = why;
    this.add({
      kind: 'duplicate',
      endpoint: context.endpoint,
      messageType: context.message.type,
      messageId: context.message.id,
      text: `${context.endpoint} dropped a duplicate ${context.message.type}: ${why}`,
    });
  }

  /** Incoming middleware: a line per delivery, handled or failed (or dropped, see duplicate). */
  deliveries(endpoint: string): IncomingMiddleware {
    return async (context, next) => {
      const { message } = context;
      const base = { endpoint, messageType: message.type, messageId: message.id };
      try {
        await next();
        if (context.work.dropped !== undefined) return;
        this.add({ ...base, kind: 'handled', text: `${endpoint} handled ${message.type}` });
      } catch (error) {
        this.add({
          ...base,
          kind: 'failed',
          text: `${endpoint} failed ${message.type}: ${(error as Error).message}`,
        });
        throw error;
      }
    };
  }

  /** A line for each chaos injection. */
  watch(chaos: Chaos, endpoint = 'chaos'): void {
    chaos.on('injection', (injection) => {
      this.add({
        endpoint,
        kind: 'chaos',
        messageType: injection.messageType,
        messageId: injection.messageId,
        text: `chaos: ${injection.kind}${injection.step ? ` at ${injection.step}` : ''} ${injection.messageType ?? ''}`.trim(),
      });
    });
  }
}

import type {
  MessageCallback,
  ReceiveOptions,
  Receiver,
  Transport,
  TransportOperation,
} from '../bus/transport.ts';
import { WIRE } from '../messages/envelope.ts';

interface Expected {
  readonly messageId: string;
  readonly type: string;
  readonly endpoint: string;
  /** Deliveries still to come to this endpoint (a duplicate send adds one). */
  outstanding: number;
  handled: number;
  lastFailure: string | undefined;
}

export interface SettledConversation {
  readonly conversationId: string;
  /** Deliveries that finished (handled, or given up on to the error queue). */
  readonly deliveries: number;
  /** Messages of the conversation that ended in the error queue. */
  readonly failed: readonly { messageId: string; type: string; endpoint: string; reason: string }[];
}

/** The conversation did not settle in time; the message lists what is still in flight. */
export class ConversationNotSettledError extends Error {
  override name = 'ConversationNotSettledError';
}

/**
 * Follows every message a conversation causes, across endpoints, by watching the transports:
 * each message sent adds the deliveries it will cause (one for a command, one per subscribing
 * endpoint for an event), each finished delivery removes one. A test waits for "nothing of this
 * conversation is in flight" instead of sleeping.
 *
 * It knows the endpoints that receive through a transport it wraps; messages for endpoints it
 * has not seen start are not waited for.
 */
export class ConversationTracer {
  private readonly endpoints = new Set<string>();
  private readonly subscribers = new Map<string, Set<string>>();
  private readonly conversations = new Map<string, Map<string, Expected>>();
  private readonly finished = new Map<
    string,
    { deliveries: number; failed: SettledConversation['failed'][number][] }
  >();
  private readonly waiters = new Set<() => void>();

  /** A transport that behaves exactly like `transport` and reports to this tracer. */
  wrap(transport: Transport): Transport {
    const tracer = this;
    return {
      kind: transport.kind,
      errorQueue: transport.errorQueue,
      async dispatch(operation: TransportOperation) {
        const undo = tracer.expect(operation);
        try {
          await transport.dispatch(operation);
        } catch (error) {
          undo();
          throw error;
        }
      },
      receive(options: ReceiveOptions, onMessage: MessageCallback): Promise<Receiver> {
        tracer.register(options);
        return transport.receive(options, async (raw) => {
          const disposition = await onMessage(raw);
          tracer.delivered(options.endpoint, raw.messageId, raw.headers, disposition);
          return disposition;
        });
      },
      receiveRaw: (queue, onMessage) => transport.receiveRaw(queue, onMessage),
      messageCount: (queue) => transport.messageCount(queue),
      close: () => transport.close(),
    };
  }

  /** What is still in flight in a conversation. */
  pending(conversationId: string): Expected[] {
    return [...(this.conversations.get(conversationId)?.values() ?? [])].map((e) => ({ ...e }));
  }

  /**
   * Resolves when nothing of the conversation is in flight. On the deadline it rejects with the
   * list of what is still pending: it never returns quietly on a timeout.
   */
  waitUntilSettled(
    conversationId: string,
    options: { timeoutMs?: number } = {},
  ): Promise<SettledConversation> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const check = () => {
        if ((this.conversations.get(conversationId)?.size ?? 0) > 0) return;
        cleanup();
        const done = this.finished.get(conversationId) ?? { deliveries: 0, failed: [] };
        resolve({ conversationId, deliveries: done.deliveries, failed: [...done.failed] });
      };
      const timer = setTimeout(() => {
        cleanup();
        const lines = this.pending(conversationId).map(
          (e) =>
            `  - ${e.type} ${e.messageId} at ${e.endpoint}: ${e.outstanding} deliver${e.outstanding === 1 ? 'y' : 'ies'} to go, handled ${e.handled}×${e.lastFailure ? `, last failure: ${e.lastFailure}` : ''}`,
        );
        reject(
          new ConversationNotSettledError(
            [
              `conversation ${conversationId} did not settle within ${timeoutMs} ms; still in flight:`,
              ...lines,
            ].join('\n'),
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  private register(options: ReceiveOptions): void {
    this.endpoints.add(options.endpoint);
    for (const type of options.subscribeTo) {
      const endpoints = this.subscribers.get(type) ?? new Set<string>();
      endpoints.add(options.endpoint);
      this.subscribers.set(type, endpoints);
    }
  }

  /** Records the deliveries a message will cause; returns how to take them back if sending fails. */
  private expect(operation: TransportOperation): () => void {
    const { message, destination } = operation;
    const conversationId = message.headers[WIRE.conversationId];
    if (!conversationId || !message.messageId) return () => {};
    const targets =
      destination.kind === 'send'
        ? this.endpoints.has(destination.endpoint)
          ? [destination.endpoint]
          : []
        : [...(this.subscribers.get(destination.type) ?? [])];
    const entries = this.conversations.get(conversationId) ?? new Map<string, Expected>();
    this.conversations.set(conversationId, entries);
    const touched = targets.map((endpoint) => {
      const key = `${message.messageId}@${endpoint}`;
      const entry = entries.get(key) ?? {
        messageId: message.messageId as string,
        type: message.type ?? '?',
        endpoint,
        outstanding: 0,
        handled: 0,
        lastFailure: undefined,
      };
      entry.outstanding++;
      entries.set(key, entry);
      return key;
    });
    return () => {
      for (const key of touched) this.settle(conversationId, key, (e) => e.outstanding--);
    };
  }

  private delivered(
    endpoint: string,
    messageId: string | undefined,
    headers: Readonly<Record<string, string>>,
    disposition: Awaited<ReturnType<MessageCallback>>,
  ): void {
    const conversationId = headers[WIRE.conversationId];
    if (!conversationId || !messageId) return;
    const key = `${messageId}@${endpoint}`;
    if (disposition.kind === 'retry-later') {
      this.settle(conversationId, key, (e) => {
        e.lastFailure = headersOf(disposition);
      });
      return;
    }
    const done = this.finished.get(conversationId) ?? { deliveries: 0, failed: [] };
    this.finished.set(conversationId, done);
    done.deliveries++;
    this.settle(conversationId, key, (e) => {
      e.outstanding--;
      e.handled++;
      if (disposition.kind === 'error') {
        done.failed.push({
          messageId,
          type: e.type,
          endpoint,
          reason: disposition.headers[WIRE.exceptionMessage] ?? 'unknown',
        });
      }
    });
  }

  private settle(conversationId: string, key: string, change: (entry: Expected) => void): void {
    const entries = this.conversations.get(conversationId);
    const entry = entries?.get(key);
    if (!entries || !entry) return;
    change(entry);
    if (entry.outstanding <= 0) entries.delete(key);
    if (entries.size === 0) this.conversations.delete(conversationId);
    for (const waiter of [...this.waiters]) waiter();
  }
}

function headersOf(disposition: {
  headers?: Readonly<Record<string, string>>;
}): string | undefined {
  return disposition.headers?.[WIRE.exceptionMessage];
}

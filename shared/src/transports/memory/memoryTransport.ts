import { UnroutableMessageError } from '../../bus/errors.ts';
import type {
  Disposition,
  MessageCallback,
  ReceivedMessage,
  ReceiveOptions,
  Receiver,
  StopOptions,
  Transport,
  TransportMessage,
  TransportOperation,
} from '../../bus/transport.ts';

interface Item {
  readonly message: TransportMessage;
  redelivered: boolean;
}

interface Consumer {
  readonly capacity: number;
  readonly inFlight: Map<Item, Promise<void>>;
  readonly onMessage: MessageCallback;
  active: boolean;
}

interface Queue {
  readonly name: string;
  readonly ready: Item[];
  readonly consumers: Consumer[];
  nextConsumer: number;
}

export interface MemoryTransportOptions {
  /** Prepended to every queue name, as the RabbitMQ transport does. */
  readonly prefix?: string;
}

/**
 * The broker in a Map, with RabbitMQ's delivery semantics: at-least-once (a message leaves its
 * queue only when acked), unacked messages go back to the queue when their consumer lets go,
 * competing consumers share a queue, retries overtake older messages (no global ordering).
 * It keeps nothing when the process ends: for tests and the interleaving explorer, not for orders.
 */
export class MemoryTransport implements Transport {
  readonly kind = 'memory';
  readonly errorQueue: string;
  private readonly prefix: string;
  private readonly queues = new Map<string, Queue>();
  /** Event type → queues subscribed to it. */
  private readonly subscriptions = new Map<string, Set<string>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(options: MemoryTransportOptions = {}) {
    this.prefix = options.prefix ?? '';
    this.errorQueue = `${this.prefix}error`;
    this.queue(this.errorQueue);
  }

  queueName(endpoint: string): string {
    return `${this.prefix}${endpoint}`;
  }

  async dispatch(operation: TransportOperation): Promise<void> {
    this.assertOpen();
    const { destination } = operation;
    if (destination.kind === 'send') {
      const queue = this.queues.get(this.queueName(destination.endpoint));
      if (!queue) {
        throw new UnroutableMessageError(
          `cannot send ${operation.message.type}: no queue for endpoint "${destination.endpoint}" (has it ever started?)`,
        );
      }
      this.enqueue(queue, copy(operation.message));
      return;
    }
    for (const name of this.subscriptions.get(destination.type) ?? []) {
      const queue = this.queues.get(name);
      if (queue) this.enqueue(queue, copy(operation.message));
    }
  }

  async receive(options: ReceiveOptions, onMessage: MessageCallback): Promise<Receiver> {
    this.assertOpen();
    const name = this.queueName(options.endpoint);
    this.queue(name);
    for (const type of options.subscribeTo) {
      const queues = this.subscriptions.get(type) ?? new Set<string>();
      queues.add(name);
      this.subscriptions.set(type, queues);
    }
    return this.consume(name, options.concurrency, onMessage);
  }

  async receiveRaw(queue: string, onMessage: MessageCallback): Promise<Receiver> {
    this.assertOpen();
    this.queue(queue);
    return this.consume(queue, 1, onMessage);
  }

  /** Messages waiting in a queue (not counting those being handled). */
  depth(queue: string): number {
    return this.queues.get(queue)?.ready.length ?? 0;
  }

  async messageCount(queue: string): Promise<number> {
    this.assertOpen();
    return this.depth(queue);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const stops = [...this.queues.values()].flatMap((q) =>
      q.consumers.map((c) => this.stopConsumer(q, c, {})),
    );
    await Promise.all(stops);
  }

  private consume(queueName: string, capacity: number, onMessage: MessageCallback): Receiver {
    const queue = this.queue(queueName);
    const consumer: Consumer = { capacity, inFlight: new Map(), onMessage, active: true };
    queue.consumers.push(consumer);
    this.pump(queue);
    return { stop: (options) => this.stopConsumer(queue, consumer, options ?? {}) };
  }

  private async stopConsumer(
    queue: Queue,
    consumer: Consumer,
    options: StopOptions,
  ): Promise<void> {
    if (!consumer.active) return;
    consumer.active = false;
    queue.consumers.splice(queue.consumers.indexOf(consumer), 1);
    if (options.drain ?? true) {
      await Promise.allSettled(consumer.inFlight.values());
      return;
    }
    // Let go without acking, as a crash would: the messages go back for another consumer.
    const abandoned = [...consumer.inFlight.keys()];
    consumer.inFlight.clear();
    for (const item of abandoned) {
      item.redelivered = true;
      queue.ready.unshift(item);
    }
    this.pump(queue);
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = { name, ready: [], consumers: [], nextConsumer: 0 };
      this.queues.set(name, queue);
    }
    return queue;
  }

  private enqueue(queue: Queue, message: TransportMessage): void {
    queue.ready.push({ message, redelivered: false });
    this.pump(queue);
  }

  /** Hands ready messages to consumers with free capacity, in turn. */
  private pump(queue: Queue): void {
    while (queue.ready.length > 0) {
      const consumer = this.nextFreeConsumer(queue);
      if (!consumer) return;
      const item = queue.ready.shift() as Item;
      const delivery = this.deliver(queue, consumer, item);
      consumer.inFlight.set(item, delivery);
    }
  }

  private nextFreeConsumer(queue: Queue): Consumer | undefined {
    const count = queue.consumers.length;
    for (let i = 0; i < count; i++) {
      const consumer = queue.consumers[(queue.nextConsumer + i) % count];
      if (consumer && consumer.inFlight.size < consumer.capacity) {
        queue.nextConsumer = (queue.nextConsumer + i + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  private async deliver(queue: Queue, consumer: Consumer, item: Item): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve)); // never deliver inside the sender's call
    const received: ReceivedMessage = {
      ...copy(item.message),
      redelivered: item.redelivered,
      queue: queue.name,
    };
    let disposition: Disposition | undefined;
    try {
      disposition = await consumer.onMessage(received);
    } catch {
      disposition = undefined; // the callback failed: like a nack with requeue
    }
    if (!consumer.inFlight.has(item)) return; // the consumer let go: the message is already back
    consumer.inFlight.delete(item);
    if (this.closed) return;
    this.settle(queue, item, disposition);
    this.pump(queue);
  }

  private settle(queue: Queue, item: Item, disposition: Disposition | undefined): void {
    if (!disposition) {
      item.redelivered = true;
      queue.ready.push(item);
      return;
    }
    if (disposition.kind === 'ack') return;
    const message = withHeaders(item.message, disposition.headers);
    if (disposition.kind === 'error') {
      this.enqueue(this.queue(this.errorQueue), message);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.enqueue(queue, message);
    }, disposition.delayMs);
    this.timers.add(timer);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the memory transport is closed');
  }
}

function copy(message: TransportMessage): TransportMessage {
  return {
    messageId: message.messageId,
    type: message.type,
    headers: { ...message.headers },
    body: Buffer.from(message.body),
  };
}

function withHeaders(
  message: TransportMessage,
  headers: Readonly<Record<string, string>>,
): TransportMessage {
  return { ...copy(message), headers: { ...message.headers, ...headers } };
}

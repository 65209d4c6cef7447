import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type RecoveringChannelModel,
} from 'amqplib';
import { BrokerUnavailableError, UnroutableMessageError } from '../../bus/errors.ts';
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
import { createLogger, type Logger } from '../../log/logger.ts';
import { describeConnectionError, maskUrl } from '../connectionErrors.ts';

export interface RabbitMqTransportOptions {
  readonly url: string;
  /** Prepended to every queue and exchange name (tests use it to stay apart). */
  readonly prefix?: string;
  /** `quorum` for a replicated cluster; `classic` (the default) for a single broker. */
  readonly queueType?: 'classic' | 'quorum';
  /** How long a publish waits for the connection to come back during an outage. Default 5 s. */
  readonly publishTimeoutMs?: number;
  /** Shown by `rabbitmqctl list_connections user_provided_name` and the management UI. */
  readonly connectionName?: string;
  readonly logger?: Logger;
  /** Told the name of every queue and exchange declared (for cleaning up after tests). */
  readonly onDeclare?: (name: string) => void;
}

/**
 * RabbitMQ over amqplib: durable queues, persistent messages, a publisher confirm for every
 * publish, manual acks. When the broker drops the connection, amqplib reconnects and `setup`
 * re-declares the topology and resumes every consumer. A publish during an outage waits for the
 * connection up to `publishTimeoutMs`, then fails to its caller: it is never kept in memory,
 * where a crash would lose it.
 */
export class RabbitMqTransport implements Transport {
  readonly kind = 'rabbitmq';
  readonly errorQueue: string;
  readonly eventsExchange: string;
  readonly log: Logger;
  private readonly options: RabbitMqTransportOptions;
  private readonly prefix: string;
  private connection: RecoveringChannelModel | undefined;
  private model: ChannelModel | undefined;
  private publisher: ConfirmChannel | undefined;
  private readonly receivers = new Set<RabbitMqReceiver>();
  /** Mandatory messages the broker returned (no queue), by message id, until their confirm. */
  private readonly returned = new Map<string, number>();
  private closing = false;
  private connections = 0;

  private constructor(options: RabbitMqTransportOptions) {
    this.options = options;
    this.prefix = options.prefix ?? '';
    this.errorQueue = `${this.prefix}error`;
    this.eventsExchange = `${this.prefix}events`;
    this.log = (options.logger ?? createLogger()).child({ transport: 'rabbitmq' });
  }

  /** Connects (failing at once, with the reason, if the broker cannot be reached). */
  static async connect(options: RabbitMqTransportOptions): Promise<RabbitMqTransport> {
    const transport = new RabbitMqTransport(options);
    await transport.open();
    return transport;
  }

  /** How many times the connection was lost and made again. */
  get reconnections(): number {
    return Math.max(0, this.connections - 1);
  }

  queueName(endpoint: string): string {
    return `${this.prefix}${endpoint}`;
  }

  delayQueueName(queue: string, delayMs: number): string {
    return `${queue}.delay-${delayMs}ms`;
  }

  private async open(): Promise<void> {
    const clientProperties = this.options.connectionName
      ? { connection_name: this.options.connectionName }
      : {};
    try {
      this.connection = await amqp.connect(this.options.url, {
        clientProperties,
        // Acks, confirms and small publishes are tiny frames: without this, Nagle's algorithm
        // holds them back until the peer's delayed ACK (tens of milliseconds per message).
        noDelay: true,
        recovery: {
          initialDelay: 100,
          maxDelay: 2_000,
          initialMaxRetries: 0,
          maxRetries: Number.POSITIVE_INFINITY,
          setup: (model: ChannelModel) => this.onConnected(model),
        },
      });
    } catch (error) {
      throw new BrokerUnavailableError(
        `cannot connect to RabbitMQ at ${maskUrl(this.options.url)}: ${describeConnectionError(error, 5_000)}`,
      );
    }
    this.connections = 1;
    this.connection.on('connect', (model: ChannelModel) => {
      this.model = model;
      this.connections++;
      this.log.info({ reconnections: this.reconnections }, 'reconnected');
    });
    this.connection.on('disconnect', (error: Error) => {
      this.model = undefined;
      this.publisher = undefined;
      if (!this.closing) this.log.warn({ reason: error.message }, 'connection lost; reconnecting');
    });
    this.connection.on('error', () => {}); // 'disconnect' reports it
  }

  /** Runs after every (re)connect, before the connection is used: topology, then consumers. */
  private async onConnected(model: ChannelModel): Promise<void> {
    const publisher = await model.createConfirmChannel();
    publisher.on('error', () => {});
    publisher.on('close', () => {
      if (this.publisher === publisher) this.publisher = undefined;
    });
    publisher.on('return', (message: ConsumeMessage) => {
      const id = String(message.properties.messageId ?? '');
      this.returned.set(id, (this.returned.get(id) ?? 0) + 1);
    });
    await publisher.assertExchange(this.eventsExchange, 'topic', { durable: true });
    this.declared(this.eventsExchange);
    await publisher.assertQueue(this.errorQueue, {
      durable: true,
      arguments: this.queueArguments(),
    });
    this.declared(this.errorQueue);
    this.model = model;
    this.publisher = publisher;
    for (const receiver of this.receivers) await receiver.attach(model);
  }

  queueArguments(): Record<string, string> {
    return { 'x-queue-type': this.options.queueType ?? 'classic' };
  }

  declared(name: string): void {
    this.options.onDeclare?.(name);
  }

  async dispatch(operation: TransportOperation): Promise<void> {
    const { message, destination } = operation;
    if (destination.kind === 'send') {
      await this.publish('', this.queueName(destination.endpoint), message, {
        mandatory: true,
        unroutable: `cannot send ${message.type}: no queue for endpoint "${destination.endpoint}" (has it ever started?)`,
      });
    } else {
      // No subscriber is not an error for an event: nobody asked to hear it.
      await this.publish(this.eventsExchange, destination.type, message, { mandatory: false });
    }
  }

  /** Publishes and resolves on the broker's confirm; rejects on a nack, a return or an outage. */
  async publish(
    exchange: string,
    routingKey: string,
    message: TransportMessage,
    options: { mandatory: boolean; unroutable?: string },
  ): Promise<void> {
    const channel = await this.waitForPublisher();
    const id = message.messageId ?? '';
    await new Promise<void>((resolve, reject) => {
      const confirmed = (error: unknown) => {
        if (error) {
          const reason = error instanceof Error ? error.message : String(error);
          reject(
            new BrokerUnavailableError(`RabbitMQ did not confirm ${message.type} ${id}: ${reason}`),
          );
          return;
        }
        const returns = this.returned.get(id) ?? 0;
        if (options.mandatory && returns > 0) {
          if (returns === 1) this.returned.delete(id);
          else this.returned.set(id, returns - 1);
          reject(new UnroutableMessageError(options.unroutable ?? `no queue for ${routingKey}`));
          return;
        }
        resolve();
      };
      try {
        channel.publish(
          exchange,
          routingKey,
          message.body,
          {
            persistent: true,
            mandatory: options.mandatory,
            contentType: 'application/json',
            ...(message.messageId ? { messageId: message.messageId } : {}),
            ...(message.type ? { type: message.type } : {}),
            headers: message.headers,
          },
          confirmed,
        );
      } catch (error) {
        reject(
          new BrokerUnavailableError(`could not publish ${message.type} ${id}: ${String(error)}`),
        );
      }
    });
  }

  private async waitForPublisher(): Promise<ConfirmChannel> {
    if (this.publisher) return this.publisher;
    if (this.closing || !this.connection)
      throw new BrokerUnavailableError('the transport is closed');
    const connection = this.connection;
    const timeoutMs = this.options.publishTimeoutMs ?? 5_000;
    return new Promise<ConfirmChannel>((resolve, reject) => {
      const onConnect = () => {
        if (!this.publisher) return;
        clearTimeout(timer);
        connection.removeListener('connect', onConnect);
        resolve(this.publisher);
      };
      const timer = setTimeout(() => {
        connection.removeListener('connect', onConnect);
        reject(
          new BrokerUnavailableError(
            `RabbitMQ at ${maskUrl(this.options.url)} is unreachable (waited ${timeoutMs} ms); the message was not sent`,
          ),
        );
      }, timeoutMs);
      connection.on('connect', onConnect);
    });
  }

  async receive(options: ReceiveOptions, onMessage: MessageCallback): Promise<Receiver> {
    const queue = this.queueName(options.endpoint);
    return this.startReceiver(
      new RabbitMqReceiver(this, queue, options.concurrency, onMessage, {
        subscribeTo: options.subscribeTo,
        delayedRetriesMs: options.delayedRetriesMs,
      }),
    );
  }

  async receiveRaw(queue: string, onMessage: MessageCallback): Promise<Receiver> {
    return this.startReceiver(
      new RabbitMqReceiver(this, queue, 1, onMessage, { subscribeTo: [], delayedRetriesMs: [] }),
    );
  }

  private async startReceiver(receiver: RabbitMqReceiver): Promise<Receiver> {
    this.receivers.add(receiver);
    await this.waitForPublisher(); // connected, and the shared topology exists
    if (this.model) await receiver.attach(this.model);
    return receiver;
  }

  async messageCount(queue: string): Promise<number> {
    await this.waitForPublisher();
    const model = this.model;
    if (!model) throw new BrokerUnavailableError('not connected to RabbitMQ');
    // A channel of its own: asking after a queue that does not exist closes the channel.
    const channel = await model.createChannel();
    channel.on('error', () => {});
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return 0;
      throw error;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  forget(receiver: RabbitMqReceiver): void {
    this.receivers.delete(receiver);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    await Promise.all([...this.receivers].map((r) => r.stop()));
    this.closing = true;
    await this.connection?.close().catch(() => {});
  }
}

interface Topology {
  readonly subscribeTo: readonly string[];
  readonly delayedRetriesMs: readonly number[];
}

/** One consumer on one channel; re-attached to each new connection. */
class RabbitMqReceiver implements Receiver {
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private attachedTo: ChannelModel | undefined;
  private readonly closedChannels = new WeakSet<Channel>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly transport: RabbitMqTransport,
    private readonly queue: string,
    private readonly concurrency: number,
    private readonly onMessage: MessageCallback,
    private readonly topology: Topology,
  ) {}

  async attach(model: ChannelModel): Promise<void> {
    if (this.stopped || this.attachedTo === model) return;
    this.attachedTo = model;
    const channel = await model.createChannel();
    channel.on('error', () => {});
    channel.on('close', () => {
      this.closedChannels.add(channel);
      if (this.channel === channel) this.channel = undefined;
    });
    await this.declare(channel);
    await channel.prefetch(this.concurrency);
    const { consumerTag } = await channel.consume(
      this.queue,
      (message) => {
        if (message) this.onDelivery(channel, message);
      },
      { noAck: false },
    );
    this.channel = channel;
    this.consumerTag = consumerTag;
  }

  private async declare(channel: Channel): Promise<void> {
    const t = this.transport;
    await channel.assertQueue(this.queue, { durable: true, arguments: t.queueArguments() });
    t.declared(this.queue);
    for (const type of this.topology.subscribeTo) {
      await channel.bindQueue(this.queue, t.eventsExchange, type);
    }
    // One queue per delay: every message in it waits as long, so none blocks another, and when
    // its time is up the broker dead-letters it back to the endpoint's queue (no plugin needed).
    for (const delayMs of this.topology.delayedRetriesMs) {
      const name = t.delayQueueName(this.queue, delayMs);
      await channel.assertQueue(name, {
        durable: true,
        arguments: {
          'x-message-ttl': delayMs,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': this.queue,
        },
      });
      t.declared(name);
    }
  }

  private onDelivery(channel: Channel, message: ConsumeMessage): void {
    const work = this.process(channel, message);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async process(channel: Channel, message: ConsumeMessage): Promise<void> {
    let disposition: Disposition | undefined;
    try {
      disposition = await this.onMessage(toReceived(message, this.queue));
    } catch (error) {
      this.transport.log.error({ err: error }, 'message callback failed; returning the message');
    }
    // The channel that delivered it is gone (connection lost, or stopped without draining): the
    // broker has already put the message back, and an ack on another channel would hit the
    // wrong message. Leave it to the redelivery.
    if (this.closedChannels.has(channel)) return;
    try {
      if (!disposition) {
        channel.nack(message, false, true);
        return;
      }
      // Store the copy first, then ack: if we crash in between, the message is handled twice,
      // never lost.
      if (disposition.kind === 'retry-later') {
        const delayQueue = this.transport.delayQueueName(this.queue, disposition.delayMs);
        await this.transport.publish('', delayQueue, withHeaders(message, disposition.headers), {
          mandatory: true,
          unroutable: `no delay queue ${delayQueue}`,
        });
      } else if (disposition.kind === 'error') {
        await this.transport.publish(
          '',
          this.transport.errorQueue,
          withHeaders(message, disposition.headers),
          {
            mandatory: true,
            unroutable: `no error queue ${this.transport.errorQueue}`,
          },
        );
      }
      if (!this.closedChannels.has(channel)) channel.ack(message);
    } catch (error) {
      this.transport.log.warn({ err: error }, 'could not settle a message; it will be redelivered');
      if (!this.closedChannels.has(channel)) {
        try {
          channel.nack(message, false, true);
        } catch {
          // the channel closed meanwhile: the broker redelivers
        }
      }
    }
  }

  async stop(options: StopOptions = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.transport.forget(this);
    const channel = this.channel;
    if (options.drain ?? true) {
      if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => {});
      await Promise.allSettled([...this.inFlight]);
    } else if (channel) {
      this.closedChannels.add(channel); // from now on nothing is acked: the broker takes them back
    }
    await channel?.close().catch(() => {});
  }
}

function toReceived(message: ConsumeMessage, queue: string): ReceivedMessage {
  const { properties } = message;
  return {
    messageId: properties.messageId ? String(properties.messageId) : undefined,
    type: properties.type ? String(properties.type) : undefined,
    headers: stringHeaders(properties.headers),
    body: message.content,
    redelivered: message.fields.redelivered,
    queue,
  };
}

/** AMQP headers may hold tables and arrays (the broker's `x-death`); the bus keeps strings. */
function stringHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (typeof value === 'string') result[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') result[key] = String(value);
    else if (Buffer.isBuffer(value)) result[key] = value.toString('utf8');
  }
  return result;
}

function withHeaders(
  message: ConsumeMessage,
  headers: Readonly<Record<string, string>>,
): TransportMessage {
  return {
    messageId: message.properties.messageId ? String(message.properties.messageId) : undefined,
    type: message.properties.type ? String(message.properties.type) : undefined,
    headers: { ...stringHeaders(message.properties.headers), ...headers },
    body: message.content,
  };
}

import type { z } from 'zod';
import { createLogger, type Logger } from '../log/logger.ts';
import {
  type BodyOf,
  type CommandType,
  describeIssues,
  type EventType,
  type MessageType,
} from '../messages/defineMessage.ts';
import { type Envelope, newMessageId } from '../messages/envelope.ts';
import type {
  Handler,
  HandlerContext,
  IncomingContext,
  MessageSession,
  OutgoingContext,
  OutgoingOperation,
  PublishOptions,
  SendOptions,
} from './context.ts';
import {
  BusConfigurationError,
  InvalidMessageError,
  PoisonMessageError,
  RejectedMessageError,
} from './errors.ts';
import { compose, type Middleware } from './pipeline.ts';
import {
  afterImmediateRetries,
  DEFAULT_RECOVERABILITY,
  type RecoverabilityPolicy,
  toErrorQueue,
} from './recoverability.ts';
import type {
  Destination,
  Disposition,
  ReceivedMessage,
  Receiver,
  StopOptions,
  Transport,
} from './transport.ts';
import { UnitOfWork } from './unitOfWork.ts';
import { parseReceived, toTransportMessage } from './wireFormat.ts';

export type IncomingMiddleware = Middleware<IncomingContext>;
export type OutgoingMiddleware = Middleware<OutgoingContext>;

export interface EndpointOptions {
  /** The endpoint's name; its queue is named after it. */
  readonly name: string;
  readonly transport: Transport;
  /** How many messages are handled at once, at most. Default 8. */
  readonly concurrency?: number;
  /** Where commands go when `send` names no endpoint: message type → endpoint name. */
  readonly routes?: Readonly<Record<string, string>>;
  readonly recoverability?: Partial<RecoverabilityPolicy>;
  /** Run around every handler, outermost first. */
  readonly incoming?: readonly IncomingMiddleware[];
  /** Run around every message sent, outermost first. */
  readonly outgoing?: readonly OutgoingMiddleware[];
  readonly logger?: Logger;
}

interface Registration {
  readonly messageType: MessageType;
  readonly handler: (message: Envelope, context: HandlerContext) => Promise<void>;
}

/**
 * A named queue with handlers per message type. Messages are acked only after the handler and
 * the whole incoming pipeline finish; failures are retried, then moved to the error queue.
 */
export class Endpoint implements MessageSession {
  readonly name: string;
  readonly log: Logger;
  private readonly transport: Transport;
  private readonly concurrency: number;
  private readonly routes: Readonly<Record<string, string>>;
  private readonly policy: RecoverabilityPolicy;
  private readonly incoming: IncomingMiddleware[] = [];
  private readonly outgoing: OutgoingMiddleware[] = [];
  private readonly registrations = new Map<string, Registration>();
  private readonly handledTypes = new Map<string, MessageType>();
  private receiver: Receiver | undefined;

  constructor(options: EndpointOptions) {
    this.name = options.name;
    this.transport = options.transport;
    this.concurrency = options.concurrency ?? 8;
    this.routes = options.routes ?? {};
    this.policy = { ...DEFAULT_RECOVERABILITY, ...options.recoverability };
    this.incoming.push(...(options.incoming ?? []));
    this.outgoing.push(...(options.outgoing ?? []));
    this.log = (options.logger ?? createLogger()).child({ endpoint: this.name });
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new BusConfigurationError(
        `concurrency must be a whole number ≥ 1, got ${this.concurrency}`,
      );
    }
  }

  /** Registers the handler for one message type (commands sent here, or events subscribed to). */
  handle<M extends CommandType | EventType>(messageType: M, handler: Handler<M>): this {
    if (this.receiver) throw new BusConfigurationError('register handlers before start()');
    if (this.registrations.has(messageType.type)) {
      throw new BusConfigurationError(`${this.name} already has a handler for ${messageType.type}`);
    }
    this.registrations.set(messageType.type, {
      messageType,
      handler: handler as Registration['handler'],
    });
    this.handledTypes.set(messageType.type, messageType);
    return this;
  }

  /** Adds middleware; outermost first, after any given in the options. */
  use(middleware: { incoming?: IncomingMiddleware; outgoing?: OutgoingMiddleware }): this {
    if (middleware.incoming) this.incoming.push(middleware.incoming);
    if (middleware.outgoing) this.outgoing.push(middleware.outgoing);
    return this;
  }

  /** Whether a handler for this message type is registered. */
  handles(type: string): boolean {
    return this.registrations.has(type);
  }

  get started(): boolean {
    return this.receiver !== undefined;
  }

  /** Declares the queue and subscriptions, then starts taking messages. */
  async start(): Promise<void> {
    if (this.receiver) return;
    const subscribeTo = [...this.registrations.values()]
      .filter((r) => r.messageType.kind === 'event')
      .map((r) => r.messageType.type);
    this.receiver = await this.transport.receive(
      {
        endpoint: this.name,
        subscribeTo,
        concurrency: this.concurrency,
        delayedRetriesMs: this.policy.delayedRetriesMs,
      },
      (raw) => this.onMessage(raw),
    );
    this.log.info({ subscribeTo, concurrency: this.concurrency }, 'endpoint started');
  }

  /** Stops taking messages; by default lets those in progress finish and acks them. */
  async stop(options: StopOptions = {}): Promise<void> {
    const receiver = this.receiver;
    this.receiver = undefined;
    await receiver?.stop(options);
    if (receiver) this.log.info({ drain: options.drain ?? true }, 'endpoint stopped');
  }

  // Messages sent from outside a handler: a new conversation unless one is given.
  private readonly outside: MessageSession = this.session(undefined);

  send<M extends CommandType>(
    type: M,
    body: BodyOf<M>,
    options?: SendOptions,
  ): Promise<Envelope<BodyOf<M>>> {
    return this.outside.send(type, body, options);
  }

  publish<M extends EventType>(
    type: M,
    body: BodyOf<M>,
    options?: PublishOptions,
  ): Promise<Envelope<BodyOf<M>>> {
    return this.outside.publish(type, body, options);
  }

  sendLocal<M extends CommandType>(
    type: M,
    body: BodyOf<M>,
    options?: PublishOptions,
  ): Promise<Envelope<BodyOf<M>>> {
    return this.outside.sendLocal(type, body, options);
  }

  /** send / publish / sendLocal on behalf of `incoming` (whose conversation and id they carry). */
  private session(incoming: IncomingContext | undefined): MessageSession {
    return {
      send: (type, body, options = {}) =>
        this.sendFrom(
          incoming,
          type,
          body,
          { kind: 'send', endpoint: this.routeOf(type, options) },
          options,
        ),
      publish: (type, body, options = {}) =>
        this.sendFrom(incoming, type, body, { kind: 'publish', type: type.type }, options),
      sendLocal: (type, body, options = {}) =>
        this.sendFrom(incoming, type, body, { kind: 'send', endpoint: this.name }, options),
    };
  }

  /**
   * Hands already-built messages to the transport, bypassing the outgoing pipeline: for messages
   * a middleware captured earlier (an outbox dispatching after its commit).
   */
  async dispatch(operations: readonly OutgoingOperation[]): Promise<void> {
    await Promise.all(
      operations.map((op) =>
        this.transport.dispatch({
          message: toTransportMessage(op.message),
          destination: op.destination,
        }),
      ),
    );
  }

  private routeOf(type: MessageType, options: SendOptions): string {
    const to = options.to ?? this.routes[type.type];
    if (!to) {
      throw new BusConfigurationError(
        `no route for ${type.type}: pass { to: 'endpoint' } or add it to the endpoint's routes`,
      );
    }
    return to;
  }

  private async sendFrom<M extends MessageType>(
    incoming: IncomingContext | undefined,
    type: M,
    body: BodyOf<M>,
    destination: Destination,
    options: PublishOptions,
  ): Promise<Envelope<BodyOf<M>>> {
    const checked = (type.schema as z.ZodType).safeParse(body);
    if (!checked.success) {
      throw new InvalidMessageError(`cannot send ${type.type}: ${describeIssues(checked.error)}`);
    }
    for (const name of Object.keys(options.headers ?? {})) {
      if (name.startsWith('x-')) {
        throw new BusConfigurationError(
          `header "${name}": names starting with x- belong to the bus`,
        );
      }
    }
    const message: Envelope<BodyOf<M>> = {
      id: options.id ?? newMessageId(),
      type: type.type,
      body: checked.data as BodyOf<M>,
      headers: {
        conversationId:
          incoming?.message.headers.conversationId ?? options.conversationId ?? newMessageId(),
        causationId: incoming?.message.id,
        sendingEndpoint: this.name,
        sentAt: new Date().toISOString(),
        deliveryCount: 0,
        custom: { ...options.headers },
      },
    };
    const context: OutgoingContext = {
      endpoint: this.name,
      operation: { message, destination },
      incoming,
    };
    await this.outgoingPipeline(context);
    return context.operation.message as Envelope<BodyOf<M>>;
  }

  // Composed once; `use()` pushes into the same arrays, which the pipelines read at call time.
  private readonly outgoingPipeline = compose<OutgoingContext>(this.outgoing, (ctx) =>
    this.transport.dispatch({
      message: toTransportMessage(ctx.operation.message),
      destination: ctx.operation.destination,
    }),
  );

  private readonly incomingPipeline = compose<IncomingContext>(this.incoming, async (ctx) => {
    const registration = this.registrations.get(ctx.message.type);
    if (!registration) throw new Error(`no handler for ${ctx.message.type}`); // parse checked it
    await registration.handler(ctx.message, ctx);
  });

  private createContext(message: Envelope): HandlerContext {
    const log = this.log.child({
      messageId: message.id,
      messageType: message.type,
      conversationId: message.headers.conversationId,
    });
    const work = new UnitOfWork(message);
    const context = { endpoint: this.name, message, log, work } as HandlerContext;
    return Object.assign(context, this.session(context));
  }

  /** One delivery: parse, run the pipeline with immediate retries, decide the disposition. */
  private async onMessage(raw: ReceivedMessage): Promise<Disposition> {
    let parsed: ReturnType<typeof parseReceived>;
    try {
      parsed = parseReceived(raw, this.handledTypes);
    } catch (error) {
      if (!(error instanceof PoisonMessageError)) throw error;
      this.log.error(
        { messageId: raw.messageId, messageType: raw.type, reason: error.reason },
        `poison message moved to the error queue: ${error.message}`,
      );
      return toErrorQueue(raw, this.name, error.reason, error, 0);
    }
    const first = parsed.envelope.headers.deliveryCount;
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.policy.immediateRetries; attempt++) {
      const message: Envelope = {
        ...parsed.envelope,
        headers: { ...parsed.envelope.headers, deliveryCount: first + attempt },
      };
      const context = this.createContext(message);
      try {
        await this.incomingPipeline(context);
        context.log.debug({ deliveryCount: message.headers.deliveryCount }, 'handled');
        return { kind: 'ack' };
      } catch (error) {
        if (error instanceof RejectedMessageError) {
          context.log.error(
            { deliveryCount: message.headers.deliveryCount },
            `rejected, moved to the error queue: ${error.message}`,
          );
          return toErrorQueue(raw, this.name, 'rejected', error, first + attempt);
        }
        lastError = error;
        context.log.warn(
          { err: error, deliveryCount: message.headers.deliveryCount },
          'handler failed',
        );
      }
    }
    const totalAttempts = first - 1 + this.policy.immediateRetries + 1;
    const disposition = afterImmediateRetries(
      raw,
      this.name,
      this.policy,
      totalAttempts,
      lastError,
    );
    const log = this.log.child({ messageId: raw.messageId, messageType: raw.type });
    if (disposition.kind === 'retry-later') {
      log.warn({ delayMs: disposition.delayMs }, 'retrying later');
    } else {
      log.error({ attempts: totalAttempts }, 'giving up: moved to the error queue');
    }
    return disposition;
  }
}

import type { Logger } from '../log/logger.ts';
import type { BodyOf, CommandType, EventType } from '../messages/defineMessage.ts';
import type { Envelope } from '../messages/envelope.ts';
import type { Destination } from './transport.ts';
import type { UnitOfWork } from './unitOfWork.ts';

export interface SendOptions {
  /** The endpoint to send the command to; defaults to the endpoint's route for the type. */
  readonly to?: string;
  /** The message id; a new UUID unless given (deterministic ids are given here). */
  readonly id?: string;
  /** Application headers (names must not start with `x-`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Only outside a handler: the conversation to join; a new one otherwise. */
  readonly conversationId?: string;
}

export type PublishOptions = Omit<SendOptions, 'to'>;

/** Sending messages: from outside a handler, or from inside one (then ids and conversation follow). */
export interface MessageSession {
  send<M extends CommandType>(
    type: M,
    body: BodyOf<M>,
    options?: SendOptions,
  ): Promise<Envelope<BodyOf<M>>>;
  publish<M extends EventType>(
    type: M,
    body: BodyOf<M>,
    options?: PublishOptions,
  ): Promise<Envelope<BodyOf<M>>>;
  sendLocal<M extends CommandType>(
    type: M,
    body: BodyOf<M>,
    options?: PublishOptions,
  ): Promise<Envelope<BodyOf<M>>>;
}

/** What a handler (and every incoming middleware) gets besides the message. */
export interface HandlerContext extends MessageSession {
  readonly endpoint: string;
  /** The message being handled. */
  readonly message: Envelope;
  /** A logger that carries endpoint, message id, type and conversation id. */
  readonly log: Logger;
  /** This attempt at the message, as the middleware and the handler share it. */
  readonly work: UnitOfWork;
}

export type IncomingContext = HandlerContext;

/** An outgoing message and where it goes, before the transport sees it. */
export interface OutgoingOperation {
  readonly message: Envelope;
  readonly destination: Destination;
}

export interface OutgoingContext {
  readonly endpoint: string;
  /** A middleware may replace it with a changed copy (deterministic ids replace the id). */
  operation: OutgoingOperation;
  /** The delivery whose handler sent this message; undefined for messages sent from outside. */
  readonly incoming: IncomingContext | undefined;
}

export type Handler<M extends CommandType | EventType> = (
  message: Envelope<BodyOf<M>>,
  context: HandlerContext,
) => Promise<void>;

/**
 * What a transport must do, and nothing more. The bus speaks to RabbitMQ and to the in-memory
 * transport only through these types; one conformance suite holds both to the same semantics.
 */

/** A message as bytes and string headers: what travels, whatever the broker. */
export interface TransportMessage {
  readonly messageId: string | undefined;
  readonly type: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export interface ReceivedMessage extends TransportMessage {
  /** The broker delivered it before and did not get an ack (a consumer stopped or crashed). */
  readonly redelivered: boolean;
  /** The queue it was received from. */
  readonly queue: string;
}

/** Where a message goes: a command to one endpoint's queue, an event to every subscriber. */
export type Destination =
  | { readonly kind: 'send'; readonly endpoint: string }
  | { readonly kind: 'publish'; readonly type: string };

export interface TransportOperation {
  readonly message: TransportMessage;
  readonly destination: Destination;
}

/**
 * What to do with a received message once the bus is done with it. The transport acks only
 * after the copy a retry or an error needs has been stored by the broker, so nothing is lost
 * between the two.
 */
export type Disposition =
  | { readonly kind: 'ack' }
  | {
      readonly kind: 'retry-later';
      readonly delayMs: number;
      readonly headers: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'error'; readonly headers: Readonly<Record<string, string>> };

export interface ReceiveOptions {
  /** The endpoint's name; the transport derives its queue name from it. */
  readonly endpoint: string;
  /** Event types to route to this endpoint's queue. */
  readonly subscribeTo: readonly string[];
  /** At most this many messages are handled at once (the prefetch). */
  readonly concurrency: number;
  /** Delays, in order, of the delayed retries the endpoint may ask for. */
  readonly delayedRetriesMs: readonly number[];
}

export interface StopOptions {
  /**
   * true (the default): stop taking messages, let those in progress finish and ack them.
   * false: let go at once without acking, as a crash would; the broker redelivers them.
   */
  readonly drain?: boolean;
}

export interface Receiver {
  stop(options?: StopOptions): Promise<void>;
}

export type MessageCallback = (message: ReceivedMessage) => Promise<Disposition>;

export interface Transport {
  /** `rabbitmq` or `memory`: for logs and test names. */
  readonly kind: string;
  /** The queue name (with any prefix) that failed messages are moved to. */
  readonly errorQueue: string;
  /** Resolves once the broker has the message (publisher confirm); rejects otherwise. */
  dispatch(operation: TransportOperation): Promise<void>;
  /** Declares the endpoint's queue and subscriptions, then delivers its messages to `onMessage`. */
  receive(options: ReceiveOptions, onMessage: MessageCallback): Promise<Receiver>;
  /** Reads raw messages from any queue, the error queue included (for tools and tests). */
  receiveRaw(queue: string, onMessage: MessageCallback): Promise<Receiver>;
  /** How many messages wait in a queue, not counting those being handled (0: no such queue). */
  messageCount(queue: string): Promise<number>;
  close(): Promise<void>;
}

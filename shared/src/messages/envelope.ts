import { randomUUID } from 'node:crypto';

/** The headers every message carries, read from the wire into named fields. */
export interface MessageHeaders {
  /** Shared by every message that one original request caused, across endpoints. */
  readonly conversationId: string;
  /** The id of the message whose handler sent this one; absent for messages sent from outside a handler. */
  readonly causationId: string | undefined;
  /** The endpoint that sent it. */
  readonly sendingEndpoint: string;
  /** When it was sent (ISO 8601). */
  readonly sentAt: string;
  /**
   * How many times it has been handed to a handler, this time included: immediate and delayed
   * retries count, and so does a redelivery by the broker after a consumer stopped without acking.
   */
  readonly deliveryCount: number;
  /** Application headers, as sent. */
  readonly custom: Readonly<Record<string, string>>;
}

/** A message as a handler sees it: id, type, validated body and headers. */
export interface Envelope<Body = unknown> {
  readonly id: string;
  readonly type: string;
  readonly body: Body;
  readonly headers: MessageHeaders;
}

export function newMessageId(): string {
  return randomUUID();
}

/** Header names on the wire. Application headers must not start with `x-`. */
export const WIRE = {
  conversationId: 'x-conversation-id',
  causationId: 'x-causation-id',
  sendingEndpoint: 'x-sending-endpoint',
  sentAt: 'x-sent-at',
  /** Attempts made before this delivery (set when a message is sent back for a delayed retry). */
  previousAttempts: 'x-previous-attempts',
  delayedRetries: 'x-delayed-retries',
  failureReason: 'x-failure-reason',
  exceptionMessage: 'x-exception-message',
  exceptionStack: 'x-exception-stack',
  sourceQueue: 'x-source-queue',
  /** The endpoint whose queue it failed on: where a retry from the error queue sends it. */
  sourceEndpoint: 'x-source-endpoint',
  /** How many times a person sent it back from the error queue. */
  retriesFromErrorQueue: 'x-retries-from-error-queue',
  attempts: 'x-attempts',
  failedAt: 'x-failed-at',
} as const;

import { WIRE } from '../messages/envelope.ts';
import type { PoisonReason } from './errors.ts';

/** Why a message is in the error queue (`x-failure-reason`). */
export type FailureReason = PoisonReason | 'handler-failed' | 'rejected';

import type { Disposition, ReceivedMessage } from './transport.ts';

export interface RecoverabilityPolicy {
  /** Attempts right away, in the same delivery, after the first one fails. */
  readonly immediateRetries: number;
  /** Then the message is sent back to wait, once per entry, for that many milliseconds. */
  readonly delayedRetriesMs: readonly number[];
}

export const DEFAULT_RECOVERABILITY: RecoverabilityPolicy = {
  immediateRetries: 2,
  delayedRetriesMs: [1_000, 5_000, 15_000],
};

/**
 * After the immediate retries of one delivery failed: wait and try again (a transient fault such
 * as a lock or a restarting database often heals), or give up to the error queue.
 */
export function afterImmediateRetries(
  raw: ReceivedMessage,
  endpoint: string,
  policy: RecoverabilityPolicy,
  totalAttempts: number,
  error: unknown,
): Disposition {
  const delayedSoFar = Number(raw.headers[WIRE.delayedRetries] ?? 0) || 0;
  const delayMs = policy.delayedRetriesMs[delayedSoFar];
  if (delayMs !== undefined) {
    return {
      kind: 'retry-later',
      delayMs,
      headers: {
        [WIRE.delayedRetries]: String(delayedSoFar + 1),
        [WIRE.previousAttempts]: String(totalAttempts),
        // The last failure travels with the message, so whoever looks at it waiting knows why.
        [WIRE.exceptionMessage]: error instanceof Error ? error.message : String(error),
      },
    };
  }
  return toErrorQueue(raw, endpoint, 'handler-failed', error, totalAttempts);
}

/** The headers that tell whoever reads the error queue what happened, where and how often. */
export function toErrorQueue(
  raw: ReceivedMessage,
  endpoint: string,
  reason: FailureReason,
  error: unknown,
  attempts: number,
): Disposition {
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    kind: 'error',
    headers: {
      [WIRE.failureReason]: reason,
      [WIRE.exceptionMessage]: err.message,
      [WIRE.exceptionStack]: (err.stack ?? err.message).slice(0, 8_000),
      [WIRE.sourceQueue]: raw.queue,
      [WIRE.sourceEndpoint]: endpoint,
      [WIRE.attempts]: String(attempts),
      [WIRE.failedAt]: new Date().toISOString(),
    },
  };
}

import { createHash } from 'node:crypto';
import type { OutgoingOperation } from '../bus/context.ts';
import type { OutgoingMiddleware } from '../bus/endpoint.ts';
import { deterministicCapture } from './deterministicIds.ts';
import {
  type Delivery,
  DOCUMENT_STEPS,
  DocumentStrategy,
  type DocumentStrategyOptions,
} from './documentStrategy.ts';

/**
 * State-based (deterministic) deduplication: no outbox and no inbox. The document keeps, beside
 * the state, the last few messages applied to it, each with a snapshot of the state it found
 * (the state the message before it produced) — so every stored state is tagged with the message
 * that produced it. The handler must be deterministic: the same message on the same state sends
 * the same messages (ids derived from the incoming message, which this strategy does itself;
 * random numbers and times from the message, never `Math.random()` or `Date.now()`).
 *
 *   load the entity
 *   if the message is in the history (a copy, or a retry after a crash):
 *     run the handler again on the snapshot it found; check it sent the same messages; dispatch
 *   else:
 *     run the handler on the state; store state + history += { id, snapshot, outputs }   (one write)
 *     dispatch
 *
 * - The history entry is stored with the state it produced, in one write: a crash cannot apply a
 *   message and forget that it did.
 * - Nothing to dispatch is stored: a copy regenerates the messages from the snapshot, with the
 *   same ids and bodies, so a crash between the commit and the dispatch loses nothing, and a
 *   copy re-sends what the first run sent, not what the state now would make it send.
 * - A copy dispatches even when the first run did: the first run may have died before sending,
 *   and nothing else would ever send those messages. Receivers drop the copies by id.
 * - Each entry holds a hash of what the first run sent: a re-run that sends something else (a
 *   handler that is not deterministic) fails with {@link NonDeterministicHandlerError} rather
 *   than publish two different versions of one message.
 *
 * Known limits: the history keeps the last `keep` messages per entity (a document stays bounded),
 * so a copy that arrives after `keep` newer messages to the same entity is not recognised; a
 * handler that calls the outside world (an HTTP API, a clock) is not deterministic.
 */
export interface StateSnapshot<S> {
  /** The message applied. */
  readonly messageId: string;
  /** The state it was applied to (produced by the message before it). */
  readonly state: S;
  /** A hash of the messages it sent (ids, types, destinations, bodies). */
  readonly outputs: string;
}

/** What state-based deduplication keeps beside the state: the last messages applied, oldest first. */
export interface StateMetadata<S> {
  readonly history?: readonly StateSnapshot<S>[];
}

/** A handler sent other messages when run again on the same state and message. */
export class NonDeterministicHandlerError extends Error {
  override name = 'NonDeterministicHandlerError';
}

/** The steps of StateBased a chaos rule can name. */
export const STATE_BASED_STEPS = DOCUMENT_STEPS;

/** How many messages an entity's history keeps by default. */
export const DEFAULT_HISTORY = 16;

export class StateBased<S extends object> extends DocumentStrategy<S, StateMetadata<S>> {
  /** The steps a chaos rule can name. */
  static readonly STEPS = STATE_BASED_STEPS;

  protected override readonly outgoing: OutgoingMiddleware = deterministicCapture();
  private readonly keep: number;

  constructor(
    options: DocumentStrategyOptions<S> & {
      /**
       * How many messages each entity remembers (default {@link DEFAULT_HISTORY}): more than can
       * reach one entity while a copy of an earlier one is still on its way.
       */
      readonly keep?: number;
    },
  ) {
    super(options);
    const keep = options.keep ?? DEFAULT_HISTORY;
    if (!Number.isInteger(keep) || keep < 1) {
      throw new RangeError(
        `keep must be a whole number of messages, at least 1 (got ${String(options.keep)})`,
      );
    }
    this.keep = keep;
  }

  protected async process(delivery: Delivery, next: () => Promise<void>): Promise<void> {
    const { message } = delivery;
    const loaded = await this.load(delivery);
    const history = loaded.doc.meta.history ?? [];
    const seen = history.find((snapshot) => snapshot.messageId === message.id);
    if (seen) {
      // Applied already: send again what the first run sent, made anew from the state it found.
      const again = await this.runHandler(delivery, next, seen.state);
      if (hashOf(again.operations) !== seen.outputs) {
        throw new NonDeterministicHandlerError(
          `${message.type} ${message.id} was applied before, and its handler, run again on the same state, sent other messages than the first time (other ids or bodies): derive ids, random numbers and times from the message (randomFromMessage, deterministicId, its headers), never from Math.random() or Date.now()`,
        );
      }
      await this.dispatch(message, again.operations);
      return;
    }
    const result = await this.runHandler(delivery, next, loaded.doc.state);
    const entry: StateSnapshot<S> = {
      messageId: message.id,
      state: loaded.doc.state,
      outputs: hashOf(result.operations),
    };
    await this.save('commit', delivery, loaded, {
      state: result.state,
      meta: { ...loaded.doc.meta, history: [...history, entry].slice(-this.keep) },
    });
    await this.dispatch(message, result.operations);
  }
}

/** What identifies the messages a run sent: their ids, types, destinations and bodies. */
function hashOf(operations: readonly OutgoingOperation[]): string {
  const sent = operations.map(({ message, destination }) => [
    message.id,
    message.type,
    destination,
    message.body,
  ]);
  return createHash('sha256').update(JSON.stringify(sent)).digest('base64url').slice(0, 16);
}

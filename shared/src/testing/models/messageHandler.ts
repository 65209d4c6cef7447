import type { Action, Invariant, Model } from '../modelChecker.ts';

/**
 * The classic message-handler model: a handler receives a message, updates the database, sends
 * a message downstream and acks, and can fail before any step. A failed attempt leaves the
 * message in the queue for another try, until it has been tried `maxAttempts` times and goes to
 * the error queue. Each variant orders (and guards) the steps differently; the invariants say
 * what "exactly once" means from the outside.
 *
 * The steps of a handler are actions written with the operations below ({@link at},
 * {@link commitChange}, {@link publish}, {@link ack}…); {@link handlerModel} adds receiving and
 * failing, so a handler written elsewhere (an exercise) is checked exactly as the variants are.
 */

export type HandlerVariant =
  /** publish, then store, then ack: the order exercise 06 starts from. */
  | 'publish-before-store'
  /** store (skipping messages already processed, publish included), then publish, then ack. */
  | 'store-before-publish'
  /** update and send in one atomic step (a transactional outbox), no deduplication. */
  | 'atomic-without-dedup'
  /** deduplicate on stored state, always publish, but with an id made fresh on every attempt. */
  | 'fresh-outgoing-ids'
  /** deduplicate on stored state; the outgoing id is stored with it and re-published as is. */
  | 'final';

/** Where the worker is in handling its message; `idle` when it handles none. */
export type HandlerStep = 'idle' | 'received' | 'checked' | 'stored' | 'published' | 'committed';

export interface HandlerState {
  /** Unacked deliveries: the message id and how many attempts it has had. */
  readonly queue: readonly { readonly id: string; readonly attempts: number }[];
  readonly errorQueue: readonly string[];
  /** How many times each message's business change was committed. */
  readonly applied: Readonly<Record<string, number>>;
  /** Message ids recorded as processed, with the id of the message they produce (or ''). */
  readonly processed: Readonly<Record<string, string>>;
  /** What went downstream: (input message, outgoing id). */
  readonly sent: readonly { readonly input: string; readonly id: string }[];
  readonly worker: {
    readonly step: HandlerStep;
    readonly input?: string;
    readonly duplicate?: boolean;
  };
  readonly failuresLeft: number;
  readonly nextId: number;
}

export interface HandlerBounds {
  readonly messages?: readonly string[];
  readonly failures?: number;
  readonly maxAttempts?: number;
}

// The operations a handler's steps are written with. Each takes a state and returns the next
// one; none changes the worker's step but `moveTo` and `ack`.

/** The id of the message the worker is handling. */
export function inputOf(s: HandlerState): string {
  if (s.worker.input === undefined) throw new Error('the worker handles no message');
  return s.worker.input;
}

/** Whether the database records the message being handled as processed. */
export function isProcessed(s: HandlerState): boolean {
  return inputOf(s) in s.processed;
}

/** The outgoing id stored with the message being handled ('' when none was stored). */
export function storedOutgoingId(s: HandlerState): string {
  return s.processed[inputOf(s)] ?? '';
}

/** A new outgoing message id, different from every id made before. */
export function newMessageId(s: HandlerState): {
  readonly id: string;
  readonly state: HandlerState;
} {
  return { id: `out-${s.nextId}`, state: { ...s, nextId: s.nextId + 1 } };
}

/**
 * Commits the business change of the message being handled, and records the message as
 * processed, with `outgoingId` (the id of the message it produces) when one is given.
 */
export function commitChange(s: HandlerState, outgoingId = ''): HandlerState {
  const input = inputOf(s);
  return {
    ...s,
    applied: { ...s.applied, [input]: (s.applied[input] ?? 0) + 1 },
    processed: { ...s.processed, [input]: outgoingId },
  };
}

/** Sends the message that the message being handled produces, with the id `id`, downstream. */
export function publish(s: HandlerState, id: string): HandlerState {
  return {
    ...s,
    sent: [...s.sent, { input: inputOf(s), id }].sort((a, b) =>
      a.input + a.id < b.input + b.id ? -1 : 1,
    ),
  };
}

/** Acks the message being handled: it leaves the queue, and the worker is idle again. */
export function ack(s: HandlerState): HandlerState {
  const input = inputOf(s);
  return { ...s, queue: s.queue.filter((d) => d.id !== input), worker: { step: 'idle' } };
}

/** The worker goes on to `step` (with `extra` remembered, e.g. what a check found). */
export function moveTo(
  s: HandlerState,
  step: HandlerStep,
  extra: Partial<Omit<HandlerState['worker'], 'step'>> = {},
): HandlerState {
  return { ...s, worker: { ...s.worker, step, ...extra } };
}

/**
 * The `next` of an action enabled only when the worker is at `step`: `then` gives the state the
 * action leads to, or undefined where it is not enabled after all.
 */
export function at(
  step: Exclude<HandlerStep, 'idle'>,
  then: (s: HandlerState) => HandlerState | undefined,
): Action<HandlerState>['next'] {
  return (s) => {
    if (s.worker.step !== step) return [];
    const next = then(s);
    return next === undefined ? [] : [next];
  };
}

/** The bounds the variants are checked with unless told otherwise. */
export const DEFAULT_HANDLER_BOUNDS: Required<HandlerBounds> = {
  messages: ['m1'],
  failures: 2,
  maxAttempts: 2,
};

/**
 * A handler whose steps after `receive` are `steps`, as a model: the broker delivers any
 * unacked message to an idle worker, and any step of a busy worker can fail instead (while
 * `bounds.failures` last), which leaves the message for another attempt or, after
 * `bounds.maxAttempts`, puts it in the error queue.
 */
export function handlerModel(
  name: string,
  steps: readonly Action<HandlerState>[],
  invariants: readonly Invariant<HandlerState>[],
  bounds: HandlerBounds = {},
): Model<HandlerState> {
  const { messages, failures, maxAttempts } = { ...DEFAULT_HANDLER_BOUNDS, ...bounds };
  const initial: HandlerState = {
    queue: messages.map((id) => ({ id, attempts: 0 })),
    errorQueue: [],
    applied: {},
    processed: {},
    sent: [],
    worker: { step: 'idle' },
    failuresLeft: failures,
    nextId: 1,
  };

  const receive: Action<HandlerState> = {
    name: 'receive',
    next: (s) =>
      s.worker.step !== 'idle'
        ? []
        : s.queue.map((d) => ({ ...s, worker: { step: 'received' as const, input: d.id } })),
  };
  // The next step fails (process crash, lost connection, failed commit): nothing of it happens,
  // the message stays unacked and comes back, or goes to the error queue after its last attempt.
  const fail: Action<HandlerState> = {
    name: 'fail',
    next: (s) => {
      if (s.worker.step === 'idle' || s.failuresLeft === 0) return [];
      const input = inputOf(s);
      const attempts = (s.queue.find((d) => d.id === input)?.attempts ?? 0) + 1;
      const exhausted = attempts >= maxAttempts;
      return [
        {
          ...s,
          queue: exhausted
            ? s.queue.filter((d) => d.id !== input)
            : s.queue.map((d) => (d.id === input ? { ...d, attempts } : d)),
          errorQueue: exhausted ? [...s.errorQueue, input].sort() : s.errorQueue,
          worker: { step: 'idle' },
          failuresLeft: s.failuresLeft - 1,
        },
      ];
    },
  };

  return { name, initial: [initial], actions: [receive, ...steps, fail], invariants };
}

// ── The reference: the library's invariants and handler variants ──────────────────────────────
// Above: the state, the operations a handler's steps are written with, and the model that adds
// `receive` and `fail` to them. Below: the four invariants as the library states them, and its
// handlers, flawed and final. Exercise 17 asks for invariants of your own: read these after.

export type HandlerInvariantName =
  | 'no ghost messages'
  | 'no lost messages'
  | 'no duplicate processing'
  | 'consistent output';

export const HANDLER_INVARIANTS: Record<HandlerInvariantName, Invariant<HandlerState>> = {
  // A message went out for a change that was never committed (and never will be).
  'no ghost messages': {
    name: 'no ghost messages',
    when: 'terminal',
    holds: (s) => s.sent.every((m) => (s.applied[m.input] ?? 0) > 0),
  },
  // A change was committed, and the message it should produce never went out. (A message parked
  // in the error queue is not lost: someone will retry it.)
  'no lost messages': {
    name: 'no lost messages',
    when: 'terminal',
    holds: (s) =>
      Object.keys(s.applied).every(
        (input) => s.sent.some((m) => m.input === input) || s.errorQueue.includes(input),
      ),
  },
  'no duplicate processing': {
    name: 'no duplicate processing',
    holds: (s) => Object.values(s.applied).every((count) => count <= 1),
  },
  // Every copy sent for one input has the same id, so downstream can tell copies apart.
  'consistent output': {
    name: 'consistent output',
    // An id at all, too: copies with no id are all "the same" and downstream still cannot drop one.
    holds: (s) =>
      s.sent.every(
        (m) => m.id !== '' && s.sent.filter((o) => o.input === m.input).every((o) => o.id === m.id),
      ),
  },
};

/**
 * Progress, apart from the four: when nothing more can happen, every message was acked after its
 * change was committed and its message published, or is in the error queue. A handler that does
 * nothing breaks none of the four; it breaks this.
 */
export function everyMessageHandled(messages: readonly string[]): Invariant<HandlerState> {
  return {
    name: 'every message handled',
    when: 'terminal',
    holds: (s) =>
      s.worker.step === 'idle' &&
      s.queue.length === 0 &&
      messages.every(
        (m) =>
          s.errorQueue.includes(m) ||
          ((s.applied[m] ?? 0) > 0 && s.sent.some((out) => out.input === m)),
      ),
  };
}

/** Publishes under a new id, made now. */
const publishFresh = (s: HandlerState): HandlerState => {
  const { id, state } = newMessageId(s);
  return publish(state, id);
};

/** The steps each variant takes after `receive`, as actions guarded by the worker's step. */
export const HANDLER_VARIANTS: Record<HandlerVariant, readonly Action<HandlerState>[]> = {
  'publish-before-store': [
    { name: 'publish', next: at('received', (s) => moveTo(publishFresh(s), 'published')) },
    { name: 'store', next: at('published', (s) => moveTo(commitChange(s), 'stored')) },
    { name: 'ack', next: at('stored', ack) },
  ],
  'store-before-publish': [
    {
      name: 'check processed',
      next: at('received', (s) => moveTo(s, 'checked', { duplicate: isProcessed(s) })),
    },
    {
      name: 'store',
      next: at('checked', (s) =>
        s.worker.duplicate ? undefined : moveTo(commitChange(s), 'stored'),
      ),
    },
    {
      // The flaw: a duplicate skips everything, the publish included.
      name: 'skip: processed',
      next: at('checked', (s) => (s.worker.duplicate ? moveTo(s, 'published') : undefined)),
    },
    { name: 'publish', next: at('stored', (s) => moveTo(publishFresh(s), 'published')) },
    { name: 'ack', next: at('published', ack) },
  ],
  'atomic-without-dedup': [
    {
      name: 'commit change + message',
      next: at('received', (s) => {
        const { id, state } = newMessageId(s);
        return moveTo(publish(commitChange(state), id), 'committed');
      }),
    },
    { name: 'ack', next: at('committed', ack) },
  ],
  'fresh-outgoing-ids': [
    {
      name: 'store if new',
      next: at('received', (s) => moveTo(isProcessed(s) ? s : commitChange(s), 'stored')),
    },
    { name: 'publish', next: at('stored', (s) => moveTo(publishFresh(s), 'published')) },
    { name: 'ack', next: at('published', ack) },
  ],
  final: [
    {
      name: 'store if new',
      next: at('received', (s) => {
        if (isProcessed(s)) return moveTo(s, 'stored');
        const { id, state } = newMessageId(s);
        return moveTo(commitChange(state, id), 'stored'); // the id is stored with the change
      }),
    },
    {
      name: 'publish stored',
      next: at('stored', (s) => moveTo(publish(s, storedOutgoingId(s)), 'published')),
    },
    { name: 'ack', next: at('published', ack) },
  ],
};

/** One of the library's handler variants as a model. */
export function messageHandlerModel(
  variant: HandlerVariant,
  invariants: readonly Invariant<HandlerState>[] = Object.values(HANDLER_INVARIANTS),
  bounds: HandlerBounds = {},
): Model<HandlerState> {
  return handlerModel(
    `message handler (${variant})`,
    HANDLER_VARIANTS[variant],
    invariants,
    bounds,
  );
}

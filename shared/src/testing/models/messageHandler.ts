import type { Action, Invariant, Model } from '../modelChecker.ts';

/**
 * The classic message-handler model: a handler receives a message, updates the database, sends
 * a message downstream and acks, and can fail before any step. A failed attempt leaves the
 * message in the queue for another try, until it has been tried `maxAttempts` times and goes to
 * the error queue. Each variant orders (and guards) the steps differently; the invariants say
 * what "exactly once" means from the outside.
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

type Step = 'idle' | 'received' | 'checked' | 'stored' | 'published' | 'committed';

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
  readonly worker: { readonly step: Step; readonly input?: string; readonly duplicate?: boolean };
  readonly failuresLeft: number;
  readonly nextId: number;
}

export interface HandlerBounds {
  readonly messages?: readonly string[];
  readonly failures?: number;
  readonly maxAttempts?: number;
}

export const HANDLER_INVARIANTS: Record<
  'no ghost messages' | 'no lost messages' | 'no duplicate processing' | 'consistent output',
  Invariant<HandlerState>
> = {
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
    holds: (s) =>
      s.sent.every((m) => s.sent.filter((o) => o.input === m.input).every((o) => o.id === m.id)),
  },
};

export function messageHandlerModel(
  variant: HandlerVariant,
  invariants: readonly Invariant<HandlerState>[] = Object.values(HANDLER_INVARIANTS),
  bounds: HandlerBounds = {},
): Model<HandlerState> {
  const messages = bounds.messages ?? ['m1'];
  const maxAttempts = bounds.maxAttempts ?? 2;
  const initial: HandlerState = {
    queue: messages.map((id) => ({ id, attempts: 0 })),
    errorQueue: [],
    applied: {},
    processed: {},
    sent: [],
    worker: { step: 'idle' },
    failuresLeft: bounds.failures ?? 2,
    nextId: 1,
  };

  const busy = (s: HandlerState) => s.worker.step !== 'idle';
  const input = (s: HandlerState) => s.worker.input as string;
  const at =
    (step: Step, then: (s: HandlerState) => HandlerState): Action<HandlerState>['next'] =>
    (s) =>
      s.worker.step === step ? [then(s)] : [];
  const apply = (s: HandlerState, outId = ''): HandlerState => ({
    ...s,
    applied: { ...s.applied, [input(s)]: (s.applied[input(s)] ?? 0) + 1 },
    processed: { ...s.processed, [input(s)]: outId },
  });
  const freshId = (s: HandlerState) => ({ id: `out-${s.nextId}`, nextId: s.nextId + 1 });
  const send = (s: HandlerState, id: string): HandlerState => ({
    ...s,
    sent: [...s.sent, { input: input(s), id }].sort((a, b) =>
      a.input + a.id < b.input + b.id ? -1 : 1,
    ),
  });
  const ack = (s: HandlerState): HandlerState => ({
    ...s,
    queue: s.queue.filter((d) => d.id !== input(s)),
    worker: { step: 'idle' },
  });
  const to = (
    step: Step,
    s: HandlerState,
    extra: Partial<HandlerState['worker']> = {},
  ): HandlerState => ({
    ...s,
    worker: { ...s.worker, step, ...extra },
  });

  // The steps each variant takes after `receive`, as actions guarded by the worker's step.
  const steps: Record<HandlerVariant, Action<HandlerState>[]> = {
    'publish-before-store': [
      {
        name: 'publish',
        next: at('received', (s) => {
          const f = freshId(s);
          return to('published', send({ ...s, nextId: f.nextId }, f.id));
        }),
      },
      { name: 'store', next: at('published', (s) => to('stored', apply(s))) },
      { name: 'ack', next: at('stored', ack) },
    ],
    'store-before-publish': [
      {
        name: 'check processed',
        next: at('received', (s) => to('checked', s, { duplicate: input(s) in s.processed })),
      },
      {
        name: 'store',
        next: (s) =>
          s.worker.step === 'checked' && !s.worker.duplicate ? [to('stored', apply(s))] : [],
      },
      {
        // The flaw: a duplicate skips everything, the publish included.
        name: 'skip: processed',
        next: (s) =>
          s.worker.step === 'checked' && s.worker.duplicate ? [to('published', s)] : [],
      },
      {
        name: 'publish',
        next: at('stored', (s) => {
          const f = freshId(s);
          return to('published', send({ ...s, nextId: f.nextId }, f.id));
        }),
      },
      { name: 'ack', next: at('published', ack) },
    ],
    'atomic-without-dedup': [
      {
        name: 'commit change + message',
        next: at('received', (s) => {
          const f = freshId(s);
          return to('committed', send(apply({ ...s, nextId: f.nextId }), f.id));
        }),
      },
      { name: 'ack', next: at('committed', ack) },
    ],
    'fresh-outgoing-ids': [
      {
        name: 'store if new',
        next: at('received', (s) => to('stored', input(s) in s.processed ? s : apply(s))),
      },
      {
        name: 'publish',
        next: at('stored', (s) => {
          const f = freshId(s);
          return to('published', send({ ...s, nextId: f.nextId }, f.id));
        }),
      },
      { name: 'ack', next: at('published', ack) },
    ],
    final: [
      {
        name: 'store if new',
        next: at('received', (s) => {
          if (input(s) in s.processed) return to('stored', s);
          const f = freshId(s);
          return to('stored', apply({ ...s, nextId: f.nextId }, f.id)); // the id is stored with the change
        }),
      },
      {
        name: 'publish stored',
        next: at('stored', (s) => to('published', send(s, s.processed[input(s)] as string))),
      },
      { name: 'ack', next: at('published', ack) },
    ],
  };

  const receive: Action<HandlerState> = {
    name: 'receive',
    next: (s) =>
      busy(s)
        ? []
        : s.queue.map((d) => ({ ...s, worker: { step: 'received' as const, input: d.id } })),
  };
  // The next step fails (process crash, lost connection, failed commit): nothing of it happens,
  // the message stays unacked and comes back, or goes to the error queue after its last attempt.
  const fail: Action<HandlerState> = {
    name: 'fail',
    next: (s) => {
      if (!busy(s) || s.failuresLeft === 0) return [];
      const attempts = (s.queue.find((d) => d.id === input(s))?.attempts ?? 0) + 1;
      const exhausted = attempts >= maxAttempts;
      return [
        {
          ...s,
          queue: exhausted
            ? s.queue.filter((d) => d.id !== input(s))
            : s.queue.map((d) => (d.id === input(s) ? { ...d, attempts } : d)),
          errorQueue: exhausted ? [...s.errorQueue, input(s)].sort() : s.errorQueue,
          worker: { step: 'idle' },
          failuresLeft: s.failuresLeft - 1,
        },
      ];
    },
  };

  return {
    name: `message handler (${variant})`,
    initial: [initial],
    actions: [receive, ...steps[variant], fail],
    invariants,
  };
}

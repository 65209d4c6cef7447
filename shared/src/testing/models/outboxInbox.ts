import type { Action, Invariant, Model } from '../modelChecker.ts';

/**
 * Two workers handle two copies of the same message at the same time (a duplicate delivery)
 * with the outbox + inbox algorithm: an entity document with a version (optimistic concurrency)
 * and an outbox map, and an inbox of processed message ids. The steps, for each worker:
 *
 *   load the entity → check the inbox → (new) process: change + outbox entry, commit if the
 *   version is unchanged → dispatch the outbox entry → mark the inbox → remove the outbox
 *   entry, commit → ack.   (duplicate) remove a leftover outbox entry, commit → ack.
 *
 * A failed commit (the version moved) starts the worker over from loading. Any step may also
 * fail outright (a crash): the worker starts over with a redelivered copy.
 *
 * `inboxFirst: true` is the flawed variant that checks the inbox before loading the entity.
 */
const OUTGOING_ID = 'm-out'; // taken from the stored outbox entry, so every dispatch has this id

type Pc =
  | 'start'
  | 'load'
  | 'check inbox'
  | 'process'
  | 'dispatch'
  | 'mark inbox'
  | 'cleanup'
  | 'ack'
  | 'done';

interface Doc {
  readonly version: number;
  /** How many times the message's business change was applied. */
  readonly applied: number;
  /** Outgoing message id pending dispatch for the incoming message, if any. */
  readonly outbox: string | null;
}

export interface OutboxInboxState {
  readonly doc: Doc;
  readonly inbox: boolean;
  readonly sent: readonly string[];
  readonly workers: readonly {
    readonly pc: Pc;
    readonly loaded: Doc | null;
    readonly inboxSeen: boolean | null;
  }[];
  readonly failuresLeft: number;
}

export const OUTBOX_INBOX_INVARIANTS: Record<
  'no duplicate processing' | 'no lost messages' | 'consistent output',
  Invariant<OutboxInboxState>
> = {
  'no duplicate processing': { name: 'no duplicate processing', holds: (s) => s.doc.applied <= 1 },
  'no lost messages': {
    name: 'no lost messages',
    when: 'terminal',
    holds: (s) => s.doc.applied === 1 && s.sent.length > 0 && s.doc.outbox === null,
  },
  'consistent output': {
    name: 'consistent output',
    holds: (s) => s.sent.every((id) => id === OUTGOING_ID),
  },
};

export function outboxInboxModel(options: {
  inboxFirst: boolean;
  failures?: number;
}): Model<OutboxInboxState> {
  const initial: OutboxInboxState = {
    doc: { version: 0, applied: 0, outbox: null },
    inbox: false,
    sent: [],
    workers: [0, 1].map(() => ({ pc: 'start' as Pc, loaded: null, inboxSeen: null })),
    failuresLeft: options.failures ?? 1,
  };

  type W = OutboxInboxState['workers'][number];
  const set = (
    s: OutboxInboxState,
    i: number,
    w: Partial<W>,
    rest: Partial<OutboxInboxState> = {},
  ) => ({
    ...s,
    ...rest,
    workers: s.workers.map((x, j) => (j === i ? { ...x, ...w } : x)),
  });
  /** Writes `doc` if the stored version is still the loaded one; else the worker starts over. */
  const commit = (
    s: OutboxInboxState,
    i: number,
    loaded: Doc,
    doc: Omit<Doc, 'version'>,
    pc: Pc,
  ) =>
    s.doc.version === loaded.version
      ? set(
          s,
          i,
          { pc, loaded: { ...doc, version: loaded.version + 1 } },
          { doc: { ...doc, version: loaded.version + 1 } },
        )
      : set(s, i, { pc: 'start', loaded: null, inboxSeen: null });

  const step = (s: OutboxInboxState, i: number): OutboxInboxState | undefined => {
    const w = s.workers[i] as W;
    const loaded = w.loaded as Doc;
    switch (w.pc) {
      case 'start':
        return set(s, i, { pc: options.inboxFirst ? 'check inbox' : 'load' });
      case 'load':
        return set(s, i, { pc: options.inboxFirst ? 'process' : 'check inbox', loaded: s.doc });
      case 'check inbox':
        return set(s, i, { pc: options.inboxFirst ? 'load' : 'process', inboxSeen: s.inbox });
      case 'process':
        if (w.inboxSeen) {
          // Duplicate: clean up a leftover outbox entry (dedup information is in the inbox).
          return loaded.outbox === null
            ? set(s, i, { pc: 'ack' })
            : commit(s, i, loaded, { ...loaded, outbox: null }, 'ack');
        }
        if (loaded.outbox !== null) return set(s, i, { pc: 'dispatch' }); // processed, not yet dispatched
        return commit(
          s,
          i,
          loaded,
          { applied: loaded.applied + 1, outbox: OUTGOING_ID },
          'dispatch',
        );
      case 'dispatch':
        return set(s, i, { pc: 'mark inbox' }, { sent: [...s.sent, loaded.outbox ?? 'nothing'] });
      case 'mark inbox':
        // After dispatch, before the outbox entry goes: dedup information is always somewhere.
        return set(s, i, { pc: 'cleanup' }, { inbox: true });
      case 'cleanup':
        return commit(s, i, loaded, { ...loaded, outbox: null }, 'ack');
      case 'ack':
        return set(s, i, { pc: 'done' });
      case 'done':
        return undefined;
    }
  };

  const actions: Action<OutboxInboxState>[] = [0, 1].flatMap((i) => [
    {
      name: `worker ${i + 1}: step`,
      next: (s: OutboxInboxState) => {
        const after = step(s, i);
        return after ? [after] : [];
      },
    },
    {
      name: `worker ${i + 1}: crash`,
      next: (s: OutboxInboxState) => {
        const w = s.workers[i] as W;
        if (s.failuresLeft === 0 || w.pc === 'done' || w.pc === 'start') return [];
        return [
          set(
            s,
            i,
            { pc: 'start', loaded: null, inboxSeen: null },
            { failuresLeft: s.failuresLeft - 1 },
          ),
        ];
      },
    },
  ]);

  return {
    name: `outbox + inbox, two workers (${options.inboxFirst ? 'inbox checked first' : 'entity loaded first'})`,
    initial: [initial],
    actions,
    invariants: Object.values(OUTBOX_INBOX_INVARIANTS),
  };
}

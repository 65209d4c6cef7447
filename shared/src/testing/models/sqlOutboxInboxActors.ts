import type { ActorRun, ExploreOptions } from '../interleavingExplorer.ts';

/**
 * The SQL outbox + inbox (SqlOutboxInbox) for one AddItem, step by step, for the interleaving
 * explorer: two copies of the message race each other. Postgres is modelled by what the
 * algorithm relies on — a transaction's writes appear together at commit, and the inbox row
 * inserted first locks the message id: a second copy's insert waits until the first commits
 * (then it sees the row) or rolls back (a crash; then it takes the lock).
 *
 * `dispatchBeforeCommit` is the flawed order, to show what the explorer finds.
 */
export interface SqlStores {
  committed: { items: number; inbox: Set<string>; outbox: { owner: string; id: string }[] };
  /** Uncommitted inbox rows: message id → the copy whose transaction holds it. */
  readonly locks: Map<string, string>;
  /** Every outgoing id that was ever committed to the outbox. */
  readonly committedIds: Set<string>;
  readonly sent: string[];
}

const MESSAGE = 'add-item-1';

function copy(name: string, dispatchBeforeCommit: boolean): ActorRun<SqlStores> {
  return async function* (s, attempt) {
    // A crash rolled this copy's transaction back: its uncommitted rows and locks are gone.
    for (const [id, holder] of s.locks) if (holder === name) s.locks.delete(id);
    yield {
      label: 'begin; insert inbox row (waits for a lock another copy holds)',
      ready: () => (s.locks.get(MESSAGE) ?? name) === name,
    };
    if (s.committed.inbox.has(MESSAGE)) {
      // Processed before: roll back, send what a crash after its commit may have left.
      yield 'dispatch pending: delete outbox rows, send them, commit';
      const rows = s.committed.outbox.filter((r) => r.owner === MESSAGE);
      s.sent.push(...rows.map((r) => r.id));
      s.committed.outbox = s.committed.outbox.filter((r) => r.owner !== MESSAGE);
      return;
    }
    s.locks.set(MESSAGE, name);
    yield 'handler: insert order line (uncommitted)';
    const outgoing = `ItemAdded/${name}/${attempt}`; // a new id each time the handler runs
    if (dispatchBeforeCommit) {
      yield 'dispatch';
      s.sent.push(outgoing);
    }
    yield 'insert outbox row; commit';
    s.committed.items++;
    s.committed.inbox.add(MESSAGE);
    s.committed.outbox.push({ owner: MESSAGE, id: outgoing });
    s.committedIds.add(outgoing);
    s.locks.delete(MESSAGE);
    if (!dispatchBeforeCommit) {
      yield 'dispatch';
      s.sent.push(outgoing);
    }
    yield 'delete outbox rows';
    s.committed.outbox = s.committed.outbox.filter((r) => r.owner !== MESSAGE);
  };
}

export function twoSqlCopies(
  options: { crashes: number; dispatchBeforeCommit?: boolean } = { crashes: 1 },
): ExploreOptions<SqlStores> {
  const flawed = options.dispatchBeforeCommit ?? false;
  return {
    stores: () => ({
      committed: { items: 0, inbox: new Set(), outbox: [] },
      locks: new Map(),
      committedIds: new Set(),
      sent: [],
    }),
    actors: [
      { name: 'copy 1', run: copy('copy 1', flawed) },
      { name: 'copy 2', run: copy('copy 2', flawed), crashes: false },
    ],
    maxFailures: options.crashes,
    invariants: [
      { name: 'processed exactly once', holds: (s) => s.committed.items === 1 },
      {
        name: 'no ghost messages: every message sent was committed',
        holds: (s) => s.sent.every((id) => s.committedIds.has(id)),
      },
      { name: 'no lost messages', holds: (s) => s.sent.length > 0 },
      { name: 'consistent output: one id sent', holds: (s) => new Set(s.sent).size === 1 },
      { name: 'the outbox empties', holds: (s) => s.committed.outbox.length === 0 },
    ],
  };
}

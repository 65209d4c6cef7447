import {
  type Action,
  ack,
  at,
  commitChange,
  type HandlerState,
  type Invariant,
  isProcessed,
  moveTo,
  newMessageId,
  publish,
  storedOutgoingId,
} from '@pierogi/shared/testing';

/**
 * The AddItem handler of orders as a state machine, for the library's model checker
 * (shared/src/testing/modelChecker.ts). A state (`HandlerState`) holds:
 *
 * - `queue`: the AddItems not acked yet, each with the attempts it has had; `errorQueue`: the
 *   ones that ran out of attempts;
 * - `applied`: how many times the change of each AddItem was committed (an item in the order);
 *   `processed`: the AddItems the database records as processed, each with the outgoing id
 *   stored with it ('' when none was);
 * - `sent`: every ItemAdded that went out, as `{ input, id }` — the AddItem it is for, its id;
 * - `worker`: where the handler is (`step`) and which AddItem it handles (`input`).
 *
 * The checker adds two actions to yours: `receive` (the broker delivers an unacked AddItem to
 * the idle worker) and `fail` (instead of its next step, the worker crashes; the AddItem comes
 * back, or goes to the error queue after its last attempt). It starts from every AddItem in the
 * queue and tries every action in every state it reaches, breadth first.
 */

/** Has an ItemAdded for `input` gone out? */
const published = (s: HandlerState, input: string) => s.sent.some((m) => m.input === input);

export const invariants: Invariant<HandlerState>[] = [
  {
    // Out before its change commits is not yet a ghost: the handler may still commit. A ghost is
    // one that is out when nothing more will happen.
    name: 'no ghost messages',
    when: 'terminal',
    holds: (s) => s.sent.every((m) => (s.applied[m.input] ?? 0) > 0),
  },
  {
    // Between the commit and the publish nothing is lost yet; at the end, it is.
    name: 'no lost messages',
    when: 'terminal',
    holds: (s) =>
      Object.keys(s.applied).every((input) => published(s, input) || s.errorQueue.includes(input)),
  },
  {
    // Once committed twice, no later step takes it back: checked in every state.
    name: 'no duplicate processing',
    holds: (s) => Object.values(s.applied).every((times) => times <= 1),
  },
  {
    name: 'consistent output',
    holds: (s) =>
      s.sent.every((m) => s.sent.every((other) => other.input !== m.input || other.id === m.id)),
  },
];

/**
 * Store first, and only once: the change, the AddItem recorded as processed, and the id of the
 * ItemAdded it produces, in one commit. Then publish the stored ItemAdded — a copy of an AddItem
 * publishes it too, with the same id — and ack.
 */
export const handler: Action<HandlerState>[] = [
  {
    name: 'store the order if new',
    next: at('received', (s) => {
      if (isProcessed(s)) return moveTo(s, 'stored');
      const { id, state } = newMessageId(s);
      return moveTo(commitChange(state, id), 'stored');
    }),
  },
  {
    name: 'publish the stored ItemAdded',
    next: at('stored', (s) => moveTo(publish(s, storedOutgoingId(s)), 'published')),
  },
  { name: 'ack', next: at('published', ack) },
];

import {
  type Action,
  ack,
  at,
  commitChange,
  type HandlerState,
  type Invariant,
  moveTo,
  newMessageId,
  publish,
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

// 👉 State the four invariants, one at a time, each as `{ name, holds, when }`: `holds(state)`
// says whether a state is fine; `when: 'terminal'` checks it only in the states where nothing
// more can happen (the handler is done, every AddItem acked or in the error queue), and
// `'always'` (the default) in every state. After each one, `pnpm check 17`.
//
//   'no ghost messages'        no ItemAdded is out for an AddItem whose change was never committed
//   'no lost messages'         no change is committed without its ItemAdded going out (an AddItem
//                              in the error queue is not lost: someone will send it back)
//   'no duplicate processing'  no change is committed twice
//   'consistent output'        every ItemAdded sent for one AddItem has the same id
//
// 🤔 Which of them can be broken for a moment and put right by a later step? Those are checked
// only at the end (`when: 'terminal'`); the others in every state.
export const invariants: Invariant<HandlerState>[] = [];

/**
 * The handler's steps after `receive`, as exercise 01 wrote it: publish the ItemAdded, store the
 * order, ack. Each step is an action enabled at one step of the worker (`at`), and moves it on
 * (`moveTo`); the operations (`commitChange`, `publish`, `newMessageId`, `ack`, `isProcessed`,
 * `storedOutgoingId`) are in shared/src/testing/models/messageHandler.ts.
 *
 * 👉 When a new invariant finds a flaw, change the steps until `pnpm check 17` finds none.
 */
export const handler: Action<HandlerState>[] = [
  {
    name: 'publish ItemAdded',
    next: at('received', (s) => {
      const { id, state } = newMessageId(s);
      return moveTo(publish(state, id), 'published');
    }),
  },
  { name: 'store the order', next: at('published', (s) => moveTo(commitChange(s), 'stored')) },
  { name: 'ack', next: at('stored', ack) },
];

import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { MemoryDocumentStore, MemoryInbox, StepHook } from '@pierogi/shared';
import {
  type ActorRun,
  type Counterexample,
  counterexampleOfExecution,
  type ExploreOptions,
  type ExploreResult,
  exploreInterleavings,
  formatCounterexample,
} from '@pierogi/shared/testing';
import { describe, expect, it } from 'vitest';
import { recordCounterexample, recordHolds } from '../src/counterexamples.ts';
import { ROOT } from '../src/exercises.ts';
import { codeUnderCheck, fileToOpen } from './codeUnderCheck.ts';

/**
 * Check 16 runs the interleaving explorer two ways, both on the attendee's own code: their
 * exploration (src/exploration.ts) over handlers of the check's with one known flaw each — it must
 * find each flaw — and over a correct one — it must hold; and the check's own exploration over
 * their handler (src/addItem.ts) — it must hold. Every counterexample is printed as a numbered
 * message sequence and kept for the page of `pnpm exercise 16`.
 */
const HANDLER = fileToOpen('src/addItem.ts');
const EXPLORATION = fileToOpen('src/exploration.ts');

// The shapes of src/addItemStores.ts (the check cannot import types from the folder it checks).
interface AddItemMessage {
  readonly id: string;
  readonly orderId: string;
  readonly filling: string;
}
interface OrderDocument {
  readonly lines: readonly string[];
  readonly outbox: Readonly<Record<string, AddItemMessage>>;
}
interface AddItemStores {
  readonly orders: MemoryDocumentStore<OrderDocument>;
  readonly inbox: MemoryInbox;
  readonly published: AddItemMessage[];
}
type AddItemHandler = (
  stores: AddItemStores,
  message: AddItemMessage,
  steps: StepHook,
) => Promise<void>;

interface StoresModule {
  readonly ADD_ITEM: AddItemMessage;
  readonly deliveryOf: (handler: AddItemHandler) => ActorRun<AddItemStores>;
  readonly newStores: () => AddItemStores;
  readonly orderOf: (stores: AddItemStores) => Promise<OrderDocument>;
  readonly describeStores: (stores: AddItemStores) => Promise<string>;
}

const code = async <T>(file: string): Promise<T> =>
  (await import(path.join(ROOT, codeUnderCheck(), file))) as T;
const stores = () => code<StoresModule>('src/addItemStores.ts');
const theirHandler = async () =>
  (await code<{ addItem: AddItemHandler }>('src/addItem.ts')).addItem;
const theirExploration = async () =>
  (
    await code<{ exploration: (h: AddItemHandler) => ExploreOptions<AddItemStores> }>(
      'src/exploration.ts',
    )
  ).exploration;

/** The flaws of the check's handlers; none: the correct algorithm. */
type Flaw =
  | 'inbox before load'
  | 'mark before publish'
  | 'new id every attempt'
  | 'publishes without adding'
  | 'never clears the outbox';

/**
 * The check's AddItem handler: the algorithm of the solution, or that algorithm with one flaw.
 * Written here, so that the attendee's exploration is tried on handlers they did not write.
 */
function checkHandler(flaw?: Flaw): AddItemHandler {
  return async (s, message, steps) => {
    const load = () =>
      steps.around('load order', message, () => s.orders.load('orders', message.orderId));
    const check = () => steps.around('check inbox', message, () => s.inbox.has(message.id));
    let processed = false;
    if (flaw === 'inbox before load') processed = await check();
    const { value, version } = await load();
    if (flaw !== 'inbox before load') processed = await check();
    let order: OrderDocument = value ?? { lines: [], outbox: {} };
    const without = (o: OrderDocument): OrderDocument => {
      const { [message.id]: _gone, ...outbox } = o.outbox;
      return { lines: o.lines, outbox };
    };
    if (processed) {
      if (order.outbox[message.id]) {
        await steps.around('clear outbox', message, () =>
          s.orders.save('orders', message.orderId, without(order), version),
        );
      }
      return;
    }
    let current = version;
    let entry = order.outbox[message.id];
    if (!entry) {
      entry = { id: randomUUID(), orderId: message.orderId, filling: message.filling };
      order = {
        lines:
          flaw === 'publishes without adding' ? order.lines : [...order.lines, message.filling],
        outbox: { ...order.outbox, [message.id]: entry },
      };
      const saved = order;
      current = await steps.around('save order + outbox', message, () =>
        s.orders.save('orders', message.orderId, saved, version),
      );
    }
    const outgoing = flaw === 'new id every attempt' ? { ...entry, id: randomUUID() } : entry;
    const publish = () =>
      steps.around('publish ItemAdded', message, async () => void s.published.push(outgoing));
    const mark = () => steps.around('mark inbox', message, () => s.inbox.mark(message.id));
    if (flaw === 'mark before publish') {
      await mark();
      await publish();
    } else {
      await publish();
      await mark();
    }
    if (flaw === 'never clears the outbox') return;
    const cleared = without(order);
    await steps.around('clear outbox', message, () =>
      s.orders.save('orders', message.orderId, cleared, current),
    );
  };
}

/** What a step acts on, for the diagram. */
const targetOf = (label: string): string | undefined =>
  label.includes('inbox')
    ? 'inbox'
    : label.includes('order') || label.includes('outbox')
      ? 'orders'
      : label.includes('publish')
        ? 'broker'
        : undefined;

function pictureOf(result: ExploreResult, title: string): Counterexample | undefined {
  const actors = [...new Set(result.failure?.steps.map((s) => s.actor) ?? [])];
  return counterexampleOfExecution(result, {
    title,
    targetOf,
    participants: [...actors, 'inbox', 'orders', 'broker'],
  });
}

/** The check's exploration of a handler: two copies, a crash of the first before any of its steps. */
async function checkExploration(handler: AddItemHandler): Promise<ExploreOptions<AddItemStores>> {
  const { deliveryOf, newStores, orderOf, describeStores, ADD_ITEM } = await stores();
  return {
    stores: newStores,
    actors: [
      { name: 'copy A', run: deliveryOf(handler) },
      { name: 'copy B', run: deliveryOf(handler), crashes: false },
    ],
    maxFailures: 1,
    invariants: [
      { name: 'no duplicate processing', holds: async (s) => (await orderOf(s)).lines.length <= 1 },
      {
        name: 'processed',
        holds: async (s) => (await orderOf(s)).lines.includes(ADD_ITEM.filling),
      },
      { name: 'no lost messages', holds: (s) => s.published.length > 0 },
      { name: 'consistent output', holds: (s) => new Set(s.published.map((m) => m.id)).size <= 1 },
      {
        name: 'nothing left in the outbox',
        holds: async (s) => Object.keys((await orderOf(s)).outbox).length === 0,
      },
    ],
    describe: describeStores,
    maxExecutions: 500_000,
  };
}

/** Runs an exploration, with a readable error when it cannot run at all. */
async function explore(
  options: ExploreOptions<AddItemStores>,
  what: string,
): Promise<ExploreResult> {
  try {
    return await exploreInterleavings(options);
  } catch (error) {
    throw new Error(`${what} could not run: ${error instanceof Error ? error.message : error}`);
  }
}

describe('16 every interleaving', () => {
  /** What to ask about an exploration that missed a flaw: its copies, its crashes, or its invariants. */
  const flaws: {
    flaw: Flaw;
    name: string;
    why: (options: ExploreOptions<AddItemStores>) => string;
  }[] = [
    {
      flaw: 'inbox before load',
      name: "your exploration finds the starting handler's flaw: the inbox asked before the order is loaded",
      why: (o) =>
        o.actors.length < 2
          ? 'Two copies of one message at the same time are how a message gets processed twice: does your exploration run two?'
          : 'Two copies run: which invariant says the item may be in the order only once?',
    },
    {
      flaw: 'mark before publish',
      name: 'your exploration finds a lost message: a handler that marks the inbox before it publishes',
      why: (o) =>
        (o.maxFailures ?? 0) === 0 || o.actors.every((a) => a.crashes === false)
          ? 'Between "mark inbox" and "publish ItemAdded" nothing goes wrong unless the handler stops there: may the explorer crash a copy (maxFailures, and a copy without crashes: false)?'
          : 'A copy may crash: which invariant says that ItemAdded must go out?',
    },
    {
      flaw: 'new id every attempt',
      name: 'your exploration finds inconsistent output: a handler that gives ItemAdded a new id on every attempt',
      why: () =>
        'A copy that publishes again — it crashed after "publish ItemAdded" and started over, or its save lost a race and it was tried again — publishes a copy of ItemAdded: billing drops it only if it has the same id. Which invariant says so?',
    },
    {
      flaw: 'publishes without adding',
      name: 'your exploration finds a lost change: a handler that publishes ItemAdded but never adds the item',
      why: () =>
        'ItemAdded goes out, once, with one id, and nothing went twice: what else must be true at the end of every execution?',
    },
    {
      flaw: 'never clears the outbox',
      name: 'your exploration finds a handler that leaves its outbox entry in the order for ever',
      why: () =>
        'Every message processed leaves an entry in the order: it grows until the store refuses it (Part 4). Which invariant says what the order holds once both copies are done?',
    },
  ];

  for (const { flaw, name, why } of flaws) {
    it(name, async () => {
      const options = (await theirExploration())(checkHandler(flaw));
      const result = await explore(options, `Your exploration (${EXPLORATION})`);
      expect(
        result.ok,
        `Your exploration (${EXPLORATION}) held over all ${result.executions} executions of a handler whose flaw is "${flaw}" — it should have found an execution that breaks exactly-once. ${why(options)}`,
      ).toBe(false);
      console.log(
        `Found, as it should be (flaw "${flaw}"):\n${formatCounterexample(pictureOf(result, `your exploration, over a handler with the flaw "${flaw}"`) as Counterexample)}\n`,
      );
    }, 60_000);
  }

  it('your exploration holds over a correct handler: its invariants ask for exactly once, and no more', async () => {
    const result = await explore(
      (await theirExploration())(checkHandler()),
      `Your exploration (${EXPLORATION})`,
    );
    const example = pictureOf(result, 'your exploration, over a correct handler');
    expect(
      result.ok,
      `${example ? formatCounterexample(example) : ''}\nAbove: your exploration (${EXPLORATION}) over a handler that is correct: the invariant it broke asks for more than exactly once (ItemAdded published twice is fine when it is the same message: the receiver drops the copy).`,
    ).toBe(true);
  }, 60_000);

  it('your handler adds a second Meat for a second AddItem, and publishes an ItemAdded for each', async () => {
    const { newStores, orderOf, ADD_ITEM } = await stores();
    const handler = await theirHandler();
    const s = newStores();
    const plain: StepHook = { around: (_step, _message, work) => work() };
    const second = { ...ADD_ITEM, id: `${ADD_ITEM.id}-second` };
    await handler(s, ADD_ITEM, plain);
    await handler(s, second, plain);
    const lines = (await orderOf(s)).lines;
    expect(
      { lines, published: new Set(s.published.map((m) => m.id)).size },
      `Two different AddItems of ${ADD_ITEM.filling} for one order (ids ${ADD_ITEM.id} and ${second.id}), one after the other: two portions, two ItemAdded. A duplicate is a copy of one message (the same id), not a second message that looks the same. Open ${HANDLER}`,
    ).toEqual({ lines: [ADD_ITEM.filling, ADD_ITEM.filling], published: 2 });
  });

  it('your handler keeps exactly-once in every execution of two copies, with a crash before any step', async () => {
    const result = await explore(
      await checkExploration(await theirHandler()),
      `The AddItem handler (${HANDLER})`,
    );
    const example = pictureOf(
      result,
      'two copies of AddItem add-1 through your handler, a crash allowed',
    );
    if (example) await recordCounterexample(codeUnderCheck(), example);
    else {
      await recordHolds(
        codeUnderCheck(),
        `your handler kept every invariant in all ${result.executions.toLocaleString('en')} executions of two copies with a crash`,
      );
    }
    expect(
      result.ok,
      `${example ? formatCounterexample(example) : ''}\nAbove: one execution of two copies of one AddItem through your handler (${HANDLER}), step by step, and what the stores held at the end (also on the page of \`pnpm exercise 16\`). Follow it in the code: after which step could a copy no longer tell that the other had processed the message?`,
    ).toBe(true);
    console.log(
      `Your handler (${HANDLER}) kept every invariant in all ${result.executions.toLocaleString('en')} executions (${(result.elapsedMs / 1_000).toFixed(1)} s).`,
    );
  }, 120_000);
});

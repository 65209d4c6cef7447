import path from 'node:path';
import {
  type ChaosRule,
  ConcurrencyError,
  type DocumentStrategy,
  type DocumentStrategyOptions,
  type InboxStore,
  MemoryDocumentStore,
  MemoryInbox,
  metadataOf,
  type OutboxMetadata,
  type StepHook,
} from '@pierogi/shared';
import {
  type ExploreOptions,
  exploreInterleavings,
  formatExecution,
  stepwise,
} from '@pierogi/shared/testing';
import { AddItem, PRICES, RemoveItem, type ShopStep, SubmitOrder } from '@pierogi/shop';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../src/exercises.ts';
import {
  expectOneMeat,
  expectStruck,
  fileToOpen,
  firstItemCount,
  sendAndSettle,
  useShop,
} from './harness.ts';
import { addOneItem, type Counter, deliveryOfMessage } from './oneAddItem.ts';

const STRATEGY = fileToOpen('src/outboxInbox.ts');

/** A message as a step hook sees it. */
type Target = Parameters<StepHook['around']>[1];
type OutboxInboxClass = new (
  options: DocumentStrategyOptions<Counter> & { readonly inbox: InboxStore },
) => DocumentStrategy<Counter, object, string>;

/** What two copies of one message share in an exploration: the stores, and what was sent. */
interface Stores {
  readonly documents: MemoryDocumentStore<Counter>;
  readonly inbox: MemoryInbox;
  /** Ids of the messages dispatched, in order. */
  readonly sent: string[];
  /** What a receiver deduplicating by id processed. */
  readonly downstream: string[];
  /** Copies that lost every race they ran and gave up (a real delivery is retried later). */
  gaveUp: number;
}

/** The outbox entries an entity's document still has (kept where the library keeps a strategy's data). */
function entriesOf(doc: object | undefined): string[] {
  return Object.keys(metadataOf<OutboxMetadata<unknown>>(doc)?.outbox ?? {});
}

/**
 * Two copies of one AddItem through the exercise's `OutboxInbox`, over in-memory stores, for the
 * interleaving explorer: each step of the class (load, check-inbox, commit, dispatch, mark-inbox,
 * cleanup) is a point where the other copy may go first, or where this copy may crash and start
 * over. The handler adds one item and sends one ItemAdded, with a new id each time it runs.
 */
function twoCopies(OutboxInbox: OutboxInboxClass, crashes: number): ExploreOptions<Stores> {
  const copy = stepwise<Stores>(async (stores, steps) => {
    const strategy = new OutboxInbox({
      store: stores.documents,
      inbox: stores.inbox,
      locate: () => ({ partition: 'orders', id: 'o-1' }),
      initial: () => ({ items: 0 }),
      steps,
      maxConflicts: 1,
    }).dispatchTo(async (operations) => {
      for (const { message } of operations) {
        stores.sent.push(message.id);
        if (!stores.downstream.includes(message.id)) stores.downstream.push(message.id);
      }
    });
    const delivery = deliveryOfMessage();
    try {
      await strategy.handle(delivery, () => addOneItem(delivery));
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      stores.gaveUp++;
    }
  });
  const done = (s: Stores) => s.gaveUp > 0; // a copy gave up: its retry is not explored
  const stored = async (s: Stores) => (await s.documents.load('orders', 'o-1')).value;
  return {
    stores: () => ({
      documents: new MemoryDocumentStore(),
      inbox: new MemoryInbox(),
      sent: [],
      downstream: [],
      gaveUp: 0,
    }),
    actors: [
      { name: 'copy 1', run: copy },
      { name: 'copy 2', run: copy, crashes: false },
    ],
    maxFailures: crashes,
    invariants: [
      {
        name: 'the AddItem is applied at most once',
        holds: async (s) => ((await stored(s))?.items ?? 0) <= 1,
      },
      {
        name: 'the AddItem is applied',
        holds: async (s) => done(s) || (await stored(s))?.items === 1,
      },
      {
        name: 'the receiver gets one ItemAdded (new ids would make it two)',
        holds: (s) => s.downstream.length <= 1,
      },
      {
        name: 'the receiver gets the ItemAdded (no lost message)',
        holds: (s) => done(s) || s.downstream.length === 1,
      },
      {
        name: 'no outbox entry left in the document',
        holds: async (s) => done(s) || entriesOf(await stored(s)).length === 0,
      },
    ],
  };
}

async function exerciseClass(): Promise<OutboxInboxClass> {
  const module = (await import(path.join(ROOT, STRATEGY))) as { OutboxInbox: OutboxInboxClass };
  return module.OutboxInbox;
}

describe('13 inbox', () => {
  const shop = useShop();
  afterEach(() => shop().chaos.clear());

  /**
   * Holds the first AddItem selected by `selects` that reaches the step `load` until another
   * delivery of an AddItem it selects reaches the step `ack` (its handling is over), then lets
   * the load run. It wraps the shop's step hook (the chaos monkey's `around`) for one test: a
   * wait on a condition, not on a clock. If nothing releases it within 10 s, it lets the load
   * go and says so (`state()` is then 'timed out'), so a broken class cannot hang the check.
   */
  function holdFirstLoadUntilOtherAck(selects: (message: Target) => boolean) {
    const chaos = shop().chaos;
    const around = chaos.around.bind(chaos);
    let state: 'waiting' | 'holding' | 'released' | 'timed out' = 'waiting';
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    chaos.around = async (step, message, work) => {
      if (message.type === 'AddItem' && selects(message)) {
        if (step === 'load' && state === 'waiting') {
          state = 'holding';
          let timer: NodeJS.Timeout | undefined;
          const deadline = new Promise<'timed out'>((resolve) => {
            timer = setTimeout(() => resolve('timed out'), 10_000);
          });
          const outcome = await Promise.race([released.then(() => 'released' as const), deadline]);
          clearTimeout(timer);
          state = outcome;
        } else if (step === 'ack' && state === 'holding') {
          release();
        }
      }
      return around(step, message, work);
    };
    return {
      state: () => state,
      restore: () => {
        release();
        Reflect.deleteProperty(chaos, 'around'); // back to the chaos monkey's own method
      },
    };
  }

  /** Selects the messages about one order. */
  function orderIdIs(orderId: string): (message: Target) => boolean {
    return (message) => (message.body as { orderId?: string } | undefined)?.orderId === orderId;
  }

  /**
   * Records the steps the AddItems selected by `selects` go through at `orders`, as each step
   * ends (a read is listed when it has read), numbering the deliveries: a copy, or the retry after
   * a crash, is a delivery of its own. What the check shows when it fails: what happened, step by
   * step. It wraps the shop's step hook as `holdFirstLoadUntilOtherAck` does, and around it.
   */
  function traceSteps(selects: (message: Target) => boolean) {
    const chaos = shop().chaos;
    const previous = Object.hasOwn(chaos, 'around') ? chaos.around : undefined;
    const around = chaos.around.bind(chaos);
    let count = 0;
    const deliveries = new WeakMap<object, number>();
    const lines: string[] = [];
    chaos.around = async (step, message, work) => {
      // The steps of the class and the ack; its loads and saves of the order are inside them.
      if (message.type !== 'AddItem' || !selects(message) || step.startsWith('orders.')) {
        return around(step, message, work);
      }
      let delivery = deliveries.get(message);
      if (delivery === undefined) {
        delivery = ++count; // a copy, or a retry: a message object of its own
        deliveries.set(message, delivery);
      }
      try {
        const result = await around(step, message, work);
        lines.push(
          `delivery ${delivery}: ${step}${typeof result === 'boolean' ? ` → ${result}` : ''}`,
        );
        return result;
      } catch (error) {
        lines.push(`delivery ${delivery}: ${step} ✗ ${(error as Error).message}`);
        throw error;
      }
    };
    return {
      /** The steps, numbered, one a line. */
      show: () =>
        `\nThe AddItem's steps at orders, in the order they ended:\n${lines
          .map((line, i) => `  ${String(i + 1).padStart(2)}. ${line}`)
          .join('\n')}\n`,
      restore: () => {
        if (previous) chaos.around = previous;
        else Reflect.deleteProperty(chaos, 'around');
      },
    };
  }

  /**
   * With the chaos rule `chaos` on, one Meat is added to order `orderId`: the rule must strike,
   * and the order must end with one Meat, billed once, counted once. A failure shows the steps
   * of the AddItem, then `why`.
   */
  async function oneMeatTraced(chaos: ChaosRule<ShopStep>, orderId: string, why: string) {
    const trace = traceSteps(orderIdIs(orderId));
    const rule = shop().chaos.add(chaos);
    const before = await firstItemCount(shop());
    try {
      await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling: 'Meat' }));
    } finally {
      trace.restore();
    }
    expectStruck(shop(), rule);
    await expectOneMeatAfter(orderId, before, `${why}${trace.show()}`);
  }

  /** The order holds one Meat, billed once, counted once by marketing (one more than `before`). */
  async function expectOneMeatAfter(orderId: string, before: number, why: string) {
    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    expect(
      {
        order: order?.lines ?? [],
        billed: { total: bill?.total ?? 0, items: bill?.items ?? 0 },
        countedByMarketing: (await firstItemCount(shop())) - before,
      },
      `${why}Open ${STRATEGY}`,
    ).toEqual({
      order: ['Meat'],
      billed: { total: PRICES.Meat, items: 1 },
      countedByMarketing: 1,
    });
  }

  it('without chaos the documents keep no trace of the messages they processed', async () => {
    const before = await firstItemCount(shop());
    const orderId = 'plain';
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling: 'Strawberry' }));
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, { orderId, filling: 'Strawberry' }));
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId }));
    await expectOneMeat(shop(), {
      orderId: orderId,
      before: before,
      why: 'with no chaos at all',
      open: STRATEGY,
    });
    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    const { value: firstItems } = await shop().marketing.load('first-items');
    expect(bill?.invoices, 'one invoice').toBe(1);
    expect(
      [...entriesOf(order), ...entriesOf(bill), ...entriesOf(firstItems)],
      `outbox entries left in the documents. Open ${STRATEGY}`,
    ).toEqual([]);
  });

  it('two copies of one message, in every order of their steps: applied once, sent once', async () => {
    const result = await exploreInterleavings(twoCopies(await exerciseClass(), 0));
    expect(
      result.ok,
      `${formatExecution(result)}\nAbove: one execution of two copies of one AddItem, their steps in the order they ran, and the invariant it broke at the end. Open ${STRATEGY} beside it, and follow the steps to the one after which a copy could no longer tell that the message was processed`,
    ).toBe(true);
  });

  it('a copy overtaken between the inbox and the load by the other copy adds nothing', async () => {
    // Both copies arrive at once; the first to reach the step `load` waits there until the other
    // copy's delivery is over (it reached its ack), then loads.
    const rule = shop().chaos.add({ kind: 'duplicate', messageType: 'AddItem', times: 1 });
    const hold = holdFirstLoadUntilOtherAck(orderIdIs('overtaken'));
    const trace = traceSteps(orderIdIs('overtaken'));
    const before = await firstItemCount(shop());
    try {
      await sendAndSettle(shop(), (f) =>
        f.send(AddItem, { orderId: 'overtaken', filling: 'Meat' }),
      );
    } finally {
      trace.restore();
      hold.restore();
    }
    expectStruck(shop(), rule);
    expect(
      hold.state(),
      "one copy was to wait at the step 'load' until the other copy was done: this check proved nothing. Is the step still named 'load'?",
    ).toBe('released');
    await expectOneMeatAfter(
      'overtaken',
      before,
      `two copies of one AddItem arrived at once; the first to reach the step 'load' was held there until the other copy's delivery was over (its ack), then loaded the order and went on. What had the held copy done before it was held?${trace.show()}`,
    );
  });

  it("a crash at the step 'dispatch' loses nothing", async () => {
    await oneMeatTraced(
      { kind: 'crash', step: 'dispatch', messageType: 'AddItem', times: 1 },
      'lost',
      "the process crashed at the step 'dispatch' of the AddItem, before its ItemAdded and FirstItemAdded were out, and the AddItem was delivered again.",
    );
  });

  it("a crash at the step 'mark-inbox' applies nothing twice", async () => {
    await oneMeatTraced(
      { kind: 'crash', step: 'mark-inbox', messageType: 'AddItem', times: 1 },
      'unmarked',
      "the process crashed at the step 'mark-inbox' of the AddItem, and the AddItem was delivered again.",
    );
  });

  it("a crash at the step 'cleanup' leaves no outbox entry behind", async () => {
    const trace = traceSteps(orderIdIs('leftover'));
    const rule = shop().chaos.add({
      kind: 'crash',
      step: 'cleanup',
      messageType: 'AddItem',
      times: 1,
    });
    const before = await firstItemCount(shop());
    try {
      await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'leftover', filling: 'Meat' }));
    } finally {
      trace.restore();
    }
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load('leftover');
    expect(
      entriesOf(order),
      `the process crashed at the step 'cleanup' of the AddItem (the removal of its outbox entry), and the AddItem was delivered again. Everything has settled, and the order still holds the AddItem's outbox entry: nothing will ever remove it.${trace.show()}Open ${STRATEGY}`,
    ).toEqual([]);
    await expectOneMeatAfter(
      'leftover',
      before,
      `the process crashed at the step 'cleanup' of the AddItem, and the AddItem was delivered again.${trace.show()}`,
    );
  });

  it('two copies, and a crash at any step of one: every execution keeps every invariant', async () => {
    const result = await exploreInterleavings({
      ...twoCopies(await exerciseClass(), 1),
      maxExecutions: 1_000_000,
    });
    expect(
      result.ok,
      `${formatExecution(result)}\nAbove: one execution of two copies of one AddItem, where one copy may crash at one step and start over; their steps in the order they ran, and the invariant it broke at the end. Open ${STRATEGY} beside it, and follow the steps: for each copy, what it had read, and what was true by then`,
    ).toBe(true);
  }, 60_000);
});

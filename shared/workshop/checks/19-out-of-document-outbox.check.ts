import path from 'node:path';
import {
  ConcurrencyError,
  type DocumentStrategy,
  type DocumentStrategyOptions,
  type InboxStore,
  MemoryDocumentStore,
  MemoryInbox,
  MemoryOutboxStore,
  metadataOf,
  type OutboxStore,
  type OutgoingOperation,
  STRATEGY_FIELD,
  STRATEGY_STEPS,
} from '@pierogi/shared';
import {
  type ExploreOptions,
  exploreInterleavings,
  formatExecution,
  stepwise,
} from '@pierogi/shared/testing';
import { AddItem } from '@pierogi/shop';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../src/exercises.ts';
import {
  addMany,
  type DocumentShop,
  type DocumentShopOptions,
  describeFailures,
  exactlyOnceChaos,
  startDocumentShop,
  wrongOrders,
} from './18-21.documentShop.ts';
import { fileToOpen, firstItemCount, sendAndSettle, useShop } from './harness.ts';
import { addOneItem, type Counter, deliveryOfMessage, MESSAGE } from './oneAddItem.ts';

const OUTBOX = fileToOpen('src/outOfDocumentOutbox.ts');
const DEDUPLICATION = fileToOpen('src/deduplication.ts');

type OutOfDocumentClass = new (
  options: DocumentStrategyOptions<object> & {
    readonly outbox: OutboxStore<OutgoingOperation>;
    readonly inbox: InboxStore;
  },
) => DocumentStrategy<object, object, string>;

async function exerciseClass(): Promise<OutOfDocumentClass> {
  const module = (await import(path.join(ROOT, OUTBOX))) as {
    OutOfDocumentOutbox: OutOfDocumentClass;
  };
  return module.OutOfDocumentOutbox;
}

/** The check's shop on the exercise's class: one outbox store, an inbox per endpoint. */
async function shopOn(options: Omit<DocumentShopOptions, 'strategy'>) {
  const module = { OutOfDocumentOutbox: await exerciseClass() };
  const outbox = new MemoryOutboxStore<OutgoingOperation>();
  const shop = await startDocumentShop({
    ...options,
    strategy: (strategyOptions) =>
      new module.OutOfDocumentOutbox({ ...strategyOptions, outbox, inbox: new MemoryInbox() }),
  });
  return { shop, outbox };
}

/** Whether a document still points to a pending transaction (a map, or a single field). */
function isPending(doc: object | undefined): boolean {
  const meta = metadataOf<{ transactions?: object; txId?: string; outbox?: object }>(doc);
  return Boolean(meta?.txId) || Object.keys(meta?.transactions ?? meta?.outbox ?? {}).length > 0;
}

/** The documents that still point to a pending transaction. */
async function pending(shop: DocumentShop, orderIds: Iterable<string>): Promise<string[]> {
  const left: string[] = [];
  for (const id of orderIds) {
    for (const doc of [await shop.order(id), await shop.bill(id)]) {
      if (isPending(doc)) left.push(`${id}: ${JSON.stringify(metadataOf(doc))}`);
    }
  }
  return left;
}

/** The size of a value as the store counts it: its JSON, in bytes. */
function bytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}

/** The steps of a copy where the explorer lets the other copy go first. */
const RACE_POINTS = new Set(['load', 'check-inbox', 'commit', 'mark-inbox', 'clear-transaction']);

/** What two copies of one message share in an exploration. */
interface Stores {
  readonly documents: MemoryDocumentStore<Counter>;
  readonly inbox: MemoryInbox;
  readonly outbox: MemoryOutboxStore<OutgoingOperation>;
  /** What a receiver deduplicating by id processed. */
  readonly downstream: string[];
}

/**
 * Two copies of one AddItem through the exercise's class, over in-memory stores, for the
 * interleaving explorer: each step of the class (load, check-inbox, store-outbox, commit, …) is a
 * point where the other copy may go first. A copy that loses a race (`ConcurrencyError`) is
 * delivered again at once, as a failed delivery is retried. The handler adds one item and sends
 * one ItemAdded, with a new id each time it runs.
 */
function twoCopies(OutOfDocumentOutbox: OutOfDocumentClass): ExploreOptions<Stores> {
  const copy = stepwise<Stores>(
    async (stores, steps) => {
      const strategy = new OutOfDocumentOutbox({
        store: stores.documents as MemoryDocumentStore<object>,
        inbox: stores.inbox,
        outbox: stores.outbox,
        locate: () => ({ partition: 'orders', id: 'o-1' }),
        initial: () => ({ items: 0 }),
        // Where the other copy may go first: every step that reads or writes the document or the
        // inbox. The outbox record's steps run at once (no copy reads another's record).
        steps: {
          around: (step, message, work) =>
            RACE_POINTS.has(step) ? steps.around(step, message, work) : work(),
        },
        maxConflicts: 0,
      }).dispatchTo(async (operations) => {
        for (const { message } of operations) {
          if (!stores.downstream.includes(message.id)) stores.downstream.push(message.id);
        }
      });
      const delivery = deliveryOfMessage();
      await strategy.handle(delivery, () => addOneItem(delivery));
    },
    { retryWhen: (error) => error instanceof ConcurrencyError },
  );
  const stored = async (s: Stores) => (await s.documents.load('orders', 'o-1')).value;
  return {
    stores: () => ({
      documents: new MemoryDocumentStore(),
      inbox: new MemoryInbox(),
      outbox: new MemoryOutboxStore(),
      downstream: [],
    }),
    actors: [
      { name: 'copy 1', run: copy },
      { name: 'copy 2', run: copy },
    ],
    invariants: [
      {
        name: 'the AddItem is applied once',
        holds: async (s) => (await stored(s))?.items === 1,
      },
      {
        name: 'the receiver gets one ItemAdded (another id would make it two)',
        holds: (s) => s.downstream.length === 1,
      },
      {
        name: 'no transaction is left pending',
        holds: async (s) => !isPending(await stored(s)),
      },
    ],
    describe: async (s) => {
      const doc = await stored(s);
      return `items ${(doc as Counter | undefined)?.items ?? 0}, ItemAdded received ${s.downstream.length}, in the inbox: ${await s.inbox.has(MESSAGE.id)}`;
    },
  };
}

describe('19 out-of-document outbox', () => {
  const running: DocumentShop[] = [];
  afterEach(async () => {
    for (const shop of running.splice(0)) await shop.close();
  });

  it('an order of 400 items whose every ItemAdded carries the whole order fits a store of 8 KB documents', async () => {
    const { shop, outbox } = await shopOn({ receipts: true, maxDocumentBytes: 8 * 1024 });
    running.push(shop);
    const { failed } = await addMany(shop, 400, { orders: 1, parallel: 1 });
    const order = (await shop.order('order-0')) as Record<string, unknown> | undefined;
    const { [STRATEGY_FIELD]: _strategy, ...alone } = order ?? {};
    expect(
      describeFailures(shop, failed).slice(0, 3),
      `the store refused the order (below: the error, and the size of the document it refused). The order alone, as last stored (${(order?.lines as unknown[] | undefined)?.length ?? 0} lines), is ${bytes(alone)} bytes: the ItemAdded waits in the order's document until it is out, and it carries every line of the order — the document holds the order twice. Open ${OUTBOX}`,
    ).toEqual([]);
    expect((await shop.order('order-0'))?.lines.length, 'lines in the order').toBe(400);
    expect((await shop.bill('order-0'))?.items, 'items billed').toBe(400);
    expect(await pending(shop, ['order-0']), 'transactions still pending').toEqual([]);
    expect(
      await outbox.olderThan(0, 1_000),
      `outbox records left once every message is out (nothing crashed). Open ${OUTBOX}`,
    ).toEqual([]);
  });

  it('under copies, late copies, failed commits and crashes at every step (seeds 1–3): each AddItem applied and billed once, no transaction left pending', async () => {
    for (const seed of [1, 2, 3]) {
      const { shop } = await shopOn({ seed, receipts: true, ...exactlyOnceChaos(STRATEGY_STEPS) });
      running.push(shop);
      const { sent, failed } = await addMany(shop, 90, { orders: 15, parallel: 6 });
      expect(failed, `seed ${seed}: messages that went to the error queue`).toEqual([]);
      expect(await wrongOrders(shop, sent), `seed ${seed}. Open ${OUTBOX}`).toEqual([]);
      expect(shop.chaos.injections.length, 'the chaos struck').toBeGreaterThan(20);
      const ids = new Set(sent.map((m) => (m.body as { orderId: string }).orderId));
      expect(await pending(shop, ids), `seed ${seed}: left pending. Open ${OUTBOX}`).toEqual([]);
    }
  });

  it('two copies of one AddItem, in every order of their steps (a copy that loses a race is delivered again): applied once, sent once, nothing left pending', async () => {
    const result = await exploreInterleavings(twoCopies(await exerciseClass()));
    expect(
      result.ok,
      `${formatExecution(result)}\nAbove: one execution of two copies of one AddItem, their steps in the order they ran, and the invariant it broke at the end. Open ${OUTBOX} beside it: what did a copy know when it decided that the AddItem was new — and how old was that?`,
    ).toBe(true);
  });

  describe('the shop (pnpm exercise 19), on its servers', () => {
    const shop = useShop();

    it('runs on the out-of-document outbox: one Meat added, billed and counted, each message in the inbox, no record left', async () => {
      const before = await firstItemCount(shop());
      await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'outside', filling: 'Meat' }));
      const { value: order } = await shop().orders.load('outside');
      const { value: bill } = await shop().bills.load('outside');
      expect({
        lines: order?.lines,
        billed: bill?.items,
        counted: (await firstItemCount(shop())) - before,
      }).toEqual({ lines: ['Meat'], billed: 1, counted: 1 });
      const { rows } = await shop().pool.query<{ outbox: string | null; inbox: string | null }>(
        `select to_regclass('outbox_records')::text as outbox, to_regclass('inbox')::text as inbox`,
      );
      expect(
        rows[0],
        `the shop has no outbox_records or inbox table: it does not run on the out-of-document outbox yet. Open ${DEDUPLICATION}`,
      ).toEqual({ outbox: 'outbox_records', inbox: 'inbox' });
      const counts = await shop().pool.query<{ records: number; processed: number }>(
        `select (select count(*)::int from outbox_records) as records,
                (select count(*)::int from inbox) as processed`,
      );
      expect(counts.rows[0], 'outbox records left; ids in the inbox').toEqual({
        records: 0,
        processed: 3, // the AddItem at orders, the ItemAdded at billing, the FirstItemAdded at marketing
      });
    });
  });
});

import path from 'node:path';
import {
  type DocumentStrategy,
  type DocumentStrategyOptions,
  type InboxStore,
  MemoryInbox,
  MemoryOutboxStore,
  metadataOf,
  type OutboxStore,
  type OutgoingOperation,
  STRATEGY_STEPS,
} from '@pierogi/shared';
import { AddItem } from '@pierogi/shop';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../src/exercises.ts';
import {
  addMany,
  type DocumentShop,
  type DocumentShopOptions,
  exactlyOnceChaos,
  startDocumentShop,
  wrongOrders,
} from './18-21.documentShop.ts';
import { fileToOpen, firstItemCount, sendAndSettle, useShop } from './harness.ts';

const OUTBOX = fileToOpen('src/outOfDocumentOutbox.ts');
const DEDUPLICATION = fileToOpen('src/deduplication.ts');

type OutOfDocumentClass = new (
  options: DocumentStrategyOptions<object> & {
    readonly outbox: OutboxStore<OutgoingOperation>;
    readonly inbox: InboxStore;
  },
) => DocumentStrategy<object, object, string>;

/** The check's shop on the exercise's class: one outbox store, an inbox per endpoint. */
async function shopOn(options: Omit<DocumentShopOptions, 'strategy'>) {
  const module = (await import(path.join(ROOT, OUTBOX))) as {
    OutOfDocumentOutbox: OutOfDocumentClass;
  };
  const outbox = new MemoryOutboxStore<OutgoingOperation>();
  const shop = await startDocumentShop({
    ...options,
    strategy: (strategyOptions) =>
      new module.OutOfDocumentOutbox({ ...strategyOptions, outbox, inbox: new MemoryInbox() }),
  });
  return { shop, outbox };
}

/** The documents that still point to a pending transaction (a map, or a single field). */
async function pending(shop: DocumentShop, orderIds: Iterable<string>): Promise<string[]> {
  const left: string[] = [];
  for (const id of orderIds) {
    for (const doc of [await shop.order(id), await shop.bill(id)]) {
      const meta = metadataOf<{ transactions?: object; txId?: string; outbox?: object }>(doc);
      if (meta?.txId || Object.keys(meta?.transactions ?? meta?.outbox ?? {}).length > 0) {
        left.push(`${id}: ${JSON.stringify(meta)}`);
      }
    }
  }
  return left;
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
    expect(
      failed.map((f) => `${f.type} at ${f.endpoint}: ${f.reason}`).slice(0, 3),
      `the store refused the order: the ItemAdded waits in the order's document until it is out, and it carries every line of the order — the document holds the order twice. Open ${OUTBOX}`,
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

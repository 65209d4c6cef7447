import path from 'node:path';
import {
  type DocumentStrategy,
  type DocumentStrategyOptions,
  MemoryTokenStore,
  metadataOf,
  type OutgoingMiddleware,
  PgTokenStore,
  STRATEGY_STEPS,
  type Subscribers,
  type TokenStore,
} from '@pierogi/shared';
import { AddItem } from '@pierogi/shop';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../src/exercises.ts';
import {
  addMany,
  type DocumentShop,
  describeFailures,
  exactlyOnceChaos,
  startDocumentShop,
  summariseMetadata,
  wrongOrders,
} from './18-21.documentShop.ts';
import { fileToOpen, firstItemCount, sendAndSettle, useShop } from './harness.ts';

const DEDUPLICATION = fileToOpen('src/deduplication.ts');

interface Deduplication {
  deduplication<S extends object>(
    options: DocumentStrategyOptions<S>,
    tokens: TokenStore,
    subscribers: Subscribers,
  ): DocumentStrategy<S, object, string>;
  sending(tokens: TokenStore, subscribers: Subscribers): OutgoingMiddleware[];
}

/** Who subscribes to what in the check's shop. */
const SUBSCRIBERS = { ItemAdded: ['billing'] };

async function exerciseCode(): Promise<Deduplication> {
  return (await import(path.join(ROOT, DEDUPLICATION))) as Deduplication;
}

/** The check's shop on the exercise's deduplication, with a token store of its own. */
async function shopOn(options: Omit<Parameters<typeof startDocumentShop>[0], 'strategy'> = {}) {
  const code = await exerciseCode();
  const tokens = new MemoryTokenStore();
  const shop = await startDocumentShop({
    ...options,
    strategy: (strategyOptions) => code.deduplication(strategyOptions, tokens, SUBSCRIBERS),
    frontend: code.sending(tokens, SUBSCRIBERS),
  });
  return { shop, tokens };
}

/**
 * What the strategies keep in each document of the check's shop (nothing when they keep nothing):
 * one line per document, saying whether it is the order or its bill, and how many entries.
 */
async function traces(shop: DocumentShop, ids: Iterable<string>): Promise<string[]> {
  const left: { orderId: string; which: 'the order' | 'the bill'; meta: object }[] = [];
  for (const orderId of ids) {
    for (const [which, doc] of [
      ['the order', await shop.order(orderId)],
      ['the bill', await shop.bill(orderId)],
    ] as const) {
      const meta = metadataOf<object>(doc);
      if (meta && Object.keys(meta).length > 0) left.push({ orderId, which, meta });
    }
  }
  return summariseMetadata(left);
}

describe('18 token-based deduplication', () => {
  const running: DocumentShop[] = [];
  afterEach(async () => {
    for (const shop of running.splice(0)) await shop.close();
  });

  it('one order takes 400 AddItems in a store that takes documents of 16 KB at most', async () => {
    const { shop, tokens } = await shopOn();
    running.push(shop);
    const { failed } = await addMany(shop, 400, { orders: 1, parallel: 1 });
    const failures = describeFailures(shop, failed);
    const tooLarge = failed.some(
      (f) => shop.errorNames.get(f.messageId) === 'DocumentTooLargeError',
    );
    expect(
      failures.slice(0, 3),
      tooLarge || failed.length === 0
        ? `the store refused the order (or its bill) with a DocumentTooLargeError: each message processed leaves its id in the document, for ever, and the document outgrew the store's limit. Open ${DEDUPLICATION}`
        : `the store refused nothing; a message went to the error queue — ${failures[0]}. Open ${DEDUPLICATION}`,
    ).toEqual([]);
    expect((await shop.order('order-0'))?.lines.length, 'lines in the order').toBe(400);
    expect((await shop.bill('order-0'))?.items, 'items billed').toBe(400);
    expect(await tokens.count(), 'tokens left once every message is processed').toBe(0);
  });

  it('under copies, late copies, failed commits and crashes at every step (seeds 1–3): each AddItem applied and billed once, and nothing of them left behind', async () => {
    for (const seed of [1, 2, 3]) {
      const { shop, tokens } = await shopOn({ seed, ...exactlyOnceChaos(STRATEGY_STEPS) });
      running.push(shop);
      const { sent, failed } = await addMany(shop, 90, { orders: 15, parallel: 6 });
      expect(failed, `seed ${seed}: messages that went to the error queue`).toEqual([]);
      expect(await wrongOrders(shop, sent), `seed ${seed}. Open ${DEDUPLICATION}`).toEqual([]);
      expect(shop.chaos.injections.length, 'the chaos struck').toBeGreaterThan(20);
      const ids = new Set(sent.map((m) => (m.body as { orderId: string }).orderId));
      expect(
        await traces(shop, ids),
        `seed ${seed}: what the documents still keep about messages long processed (the strategy's field): it grows with every message. Open ${DEDUPLICATION}`,
      ).toEqual([]);
      expect(await tokens.count(), `seed ${seed}: tokens left once all is processed`).toBe(0);
    }
  });

  it('a copy that arrives after its message was processed is dropped', async () => {
    const { shop } = await shopOn();
    running.push(shop);
    const { sent } = await shop.add('late', 'Meat');
    const copy = shop.received.get(sent.id);
    if (!copy) throw new Error('orders never received the AddItem');
    const settled = await shop.resend(copy);
    expect(settled.failed, 'the copy went to the error queue').toEqual([]);
    expect(
      {
        lines: (await shop.order('late'))?.lines,
        billed: (await shop.bill('late'))?.items,
      },
      `a late copy of an AddItem processed before was processed again. Open ${DEDUPLICATION}`,
    ).toEqual({ lines: ['Meat'], billed: 1 });
  });

  describe('the shop (pnpm exercise 18), on its servers', () => {
    const shop = useShop();

    it('one Meat is added, billed and counted; no document keeps its messages, no token is left', async () => {
      const before = await firstItemCount(shop());
      await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'tokens', filling: 'Meat' }));
      const { value: order } = await shop().orders.load('tokens');
      const { value: bill } = await shop().bills.load('tokens');
      const { value: firstItems } = await shop().marketing.load('first-items');
      expect(
        {
          lines: order?.lines,
          billed: bill?.items,
          counted: (await firstItemCount(shop())) - before,
        },
        `the Meat was not added, billed and counted once (a message in the error queue? \`pnpm errors\` shows why). Open ${DEDUPLICATION}`,
      ).toEqual({ lines: ['Meat'], billed: 1, counted: 1 });
      expect(
        [order, bill, firstItems].map((doc) => metadataOf<object>(doc) ?? {}),
        `what the shop's documents keep about the messages they processed: it grows with every message. Open ${DEDUPLICATION}`,
      ).toEqual([{}, {}, {}]);
      const tokens = new PgTokenStore(shop().pool, 'tokens');
      expect(await tokens.count(), 'tokens left once every message is processed').toBe(0);
    });
  });
});

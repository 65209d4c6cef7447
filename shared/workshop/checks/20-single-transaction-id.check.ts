import path from 'node:path';
import {
  capture,
  type Delivery,
  type DocumentStrategy,
  type DocumentStrategyOptions,
  type Envelope,
  entity,
  type InboxStore,
  MemoryDocumentStore,
  MemoryInbox,
  MemoryOutboxStore,
  metadataOf,
  newMessageId,
  type OutboxStore,
  type OutgoingOperation,
  SimulatedCrash,
  STRATEGY_STEPS,
  type StepHook,
  UnitOfWork,
} from '@pierogi/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../src/exercises.ts';
import {
  addMany,
  type DocumentShop,
  exactlyOnceChaos,
  startDocumentShop,
  wrongOrders,
} from './18-21.documentShop.ts';
import { fileToOpen } from './harness.ts';

const OUTBOX = fileToOpen('src/outOfDocumentOutbox.ts');

type Order = { lines: string[] };
type OutOfDocumentClass = new (
  options: DocumentStrategyOptions<Order> & {
    readonly outbox: OutboxStore<OutgoingOperation>;
    readonly inbox: InboxStore;
  },
) => DocumentStrategy<Order, object, string>;

async function exerciseClass(): Promise<OutOfDocumentClass> {
  const module = (await import(path.join(ROOT, OUTBOX))) as {
    OutOfDocumentOutbox: OutOfDocumentClass;
  };
  return module.OutOfDocumentOutbox;
}

/** An AddItem for order o-1, as orders receives it. */
function addItem(id: string, filling: string): Envelope {
  return {
    id,
    type: 'AddItem',
    body: { orderId: 'o-1', filling },
    headers: {
      conversationId: `c-${id}`,
      causationId: undefined,
      sendingEndpoint: 'frontend',
      sentAt: '2026-01-01T00:00:00.000Z',
      deliveryCount: 1,
      custom: {},
    },
  };
}

describe('20 single transaction id', () => {
  const running: DocumentShop[] = [];
  afterEach(async () => {
    for (const shop of running.splice(0)) await shop.close();
  });

  it('a message that finishes the transaction another message left pending: each applied once, neither lost', async () => {
    const OutOfDocumentOutbox = await exerciseClass();
    const documents = new MemoryDocumentStore<Order>();
    const inbox = new MemoryInbox();
    const steps: string[] = [];
    /** What the inbox was asked, and what it marked, during the step running now. */
    const asked: string[] = [];
    const tracedInbox: InboxStore = {
      has: async (id) => {
        const answer = await inbox.has(id);
        asked.push(`is ${id} in the inbox? ${answer ? 'yes' : 'no'}`);
        return answer;
      },
      mark: async (id) => {
        await inbox.mark(id);
        asked.push(`marked ${id}`);
      },
      cleanup: (retentionMs) => inbox.cleanup(retentionMs),
      count: () => inbox.count(),
    };
    let crashed = false;
    // M's first delivery stores its state and its transaction, then crashes before sending.
    const hook: StepHook = {
      async around(step, message, work) {
        if (step === 'load-outbox' && message.id === 'M' && !crashed) {
          crashed = true;
          steps.push(`${message.id}: ${step} ✗ crash`);
          throw new SimulatedCrash(`crash before the transaction of M is finished`);
        }
        asked.length = 0;
        const result = await work();
        steps.push(`${message.id}: ${step}${asked.length > 0 ? ` — ${asked.join(', ')}` : ''}`);
        return result;
      },
    };
    const sent: Envelope[] = [];
    const strategy = new OutOfDocumentOutbox({
      store: documents,
      inbox: tracedInbox,
      outbox: new MemoryOutboxStore<OutgoingOperation>(),
      locate: () => ({ partition: 'orders', id: 'o-1' }),
      initial: () => ({ lines: [] }),
      steps: hook,
    }).dispatchTo(async (operations) => {
      sent.push(...operations.map((op) => op.message));
    });
    const deliver = async (message: Envelope) => {
      const delivery: Delivery = { message, work: new UnitOfWork(message) };
      steps.push(`— delivery of ${message.id}`);
      await strategy.handle(delivery, async () => {
        entity<Order>(delivery).state.lines.push(message.id);
        capture(delivery, {
          message: {
            ...message,
            id: newMessageId(),
            type: 'ItemAdded',
            headers: { ...message.headers, causationId: message.id },
          },
          destination: { kind: 'publish', type: 'ItemAdded' },
        });
      });
    };
    const m = addItem('M', 'Meat');
    await expect(deliver(m), 'the first delivery of M crashes').rejects.toThrow(SimulatedCrash);
    await deliver(addItem('N', 'Mushrooms')); // N comes next, and finds M's transaction pending
    await deliver(m); // then M is delivered again
    const order = (await documents.load('orders', 'o-1')).value;
    const story = `\nM committed and crashed before its transaction was finished; N came next and found M's transaction pending; then M was delivered again. The steps:\n${steps.map((s) => `  ${s}`).join('\n')}\n`;
    expect(
      {
        lines: order?.lines,
        itemAddedFor: sent.map((message) => message.headers.causationId),
        inInbox: { M: await inbox.has('M'), N: await inbox.has('N') },
      },
      `${story}Which id did the inbox get when N finished M's transaction? Open ${OUTBOX}`,
    ).toEqual({ lines: ['M', 'N'], itemAddedFor: ['M', 'N'], inInbox: { M: true, N: true } });
    expect(
      metadataOf<{ txId?: string }>(order)?.txId,
      'a transaction left pending',
    ).toBeUndefined();
  });

  it('under copies, late copies, failed commits and crashes at every step (seeds 1–3): each AddItem applied and billed once, no transaction left pending', async () => {
    const OutOfDocumentOutbox = await exerciseClass();
    for (const seed of [1, 2, 3]) {
      const outbox = new MemoryOutboxStore<OutgoingOperation>();
      const shop = await startDocumentShop({
        seed,
        receipts: true,
        ...exactlyOnceChaos(STRATEGY_STEPS),
        strategy: (options) =>
          new OutOfDocumentOutbox({
            ...(options as DocumentStrategyOptions<Order>),
            outbox,
            inbox: new MemoryInbox(),
          }) as unknown as DocumentStrategy<object, object, string>,
      });
      running.push(shop);
      const { sent, failed } = await addMany(shop, 90, { orders: 15, parallel: 6 });
      expect(failed, `seed ${seed}: messages that went to the error queue`).toEqual([]);
      expect(await wrongOrders(shop, sent), `seed ${seed}. Open ${OUTBOX}`).toEqual([]);
      expect(shop.chaos.injections.length, 'the chaos struck').toBeGreaterThan(20);
      for (const m of sent) {
        const { orderId } = m.body as { orderId: string };
        for (const doc of [await shop.order(orderId), await shop.bill(orderId)]) {
          expect(metadataOf<{ txId?: string }>(doc)?.txId, `${orderId}: pending`).toBeUndefined();
        }
      }
    }
  });
});

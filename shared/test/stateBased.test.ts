import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Endpoint } from '../src/bus/index.ts';
import { Chaos, randomFromMessage } from '../src/chaos/index.ts';
import { entity, metadataOf } from '../src/index.ts';
import { defineCommand, defineEvent, type Envelope } from '../src/messages/index.ts';
import { ConversationTracer } from '../src/observe/index.ts';
import { MemoryDocumentStore } from '../src/store/index.ts';
import { StateBased, type StateMetadata } from '../src/strategies/index.ts';
import { MemoryTransport } from '../src/transports/index.ts';

const SubmitOrder = defineCommand('SubmitOrder', z.object({ orderId: z.string() }));
const CouponGranted = defineEvent(
  'CouponGranted',
  z.object({ orderId: z.string(), percent: z.number() }),
);
type Order = { submitted: number };

describe('state-based: a copy regenerates what the first run sent', () => {
  const endpoints: Endpoint[] = [];
  afterEach(async () => {
    for (const e of endpoints.splice(0)) await e.stop({ drain: false });
  });

  /** Orders grants a coupon per SubmitOrder; the first dispatch of each order crashes once. */
  async function shop(percentOf: (message: Envelope) => number) {
    const documents = new MemoryDocumentStore<Order>();
    const chaos = new Chaos({ seed: 1 });
    chaos.add({ kind: 'crash', step: 'dispatch', times: 1 });
    const tracer = new ConversationTracer();
    const transport = tracer.wrap(new MemoryTransport());
    const orders = new Endpoint({
      name: 'orders',
      transport,
      recoverability: { immediateRetries: 1, delayedRetriesMs: [] },
    });
    new StateBased<Order>({
      store: documents,
      locate: (m) => ({ partition: 'orders', id: (m.body as { orderId: string }).orderId }),
      initial: () => ({ submitted: 0 }),
      steps: chaos,
    })
      .use(orders)
      .handle(SubmitOrder, async (m, ctx) => {
        entity<Order>(ctx).state.submitted++;
        await ctx.publish(CouponGranted, { orderId: m.body.orderId, percent: percentOf(m) });
      });
    const coupons: Envelope[] = [];
    const customers = new Endpoint({ name: 'customers', transport }).handle(
      CouponGranted,
      async (m) => {
        coupons.push(m);
      },
    );
    const frontend = new Endpoint({ name: 'frontend', transport });
    endpoints.push(orders, customers);
    await orders.start();
    await customers.start();
    const submit = async (orderId: string) => {
      const sent = await frontend.send(SubmitOrder, { orderId }, { to: 'orders' });
      return tracer.waitUntilSettled(sent.headers.conversationId, { timeoutMs: 5_000 });
    };
    return { documents, coupons, submit };
  }

  it('a crash after the commit: the retry sends the same coupon, with the same id, once stored', async () => {
    const s = await shop((m) => Math.round(randomFromMessage(m.id, 'coupon').next() * 20));
    const settled = await s.submit('o1');
    expect(settled.failed).toEqual([]);
    expect(s.coupons).toHaveLength(1);
    const { value } = await s.documents.load('orders', 'o1');
    expect(value?.submitted, 'applied once').toBe(1);
    expect(metadataOf<StateMetadata<Order>>(value)?.history?.map((h) => h.state)).toEqual([
      { submitted: 0 },
    ]);
  });

  it('a handler that draws with Math.random() fails the retry, saying why, instead of sending another coupon', async () => {
    const s = await shop(() => Math.random());
    const settled = await s.submit('o1');
    expect(s.coupons, 'no second, different coupon').toEqual([]);
    expect(settled.failed.map((f) => f.reason).join()).toMatch(
      /run again on the same state, sent other messages/,
    );
  });

  it('refuses a history (`keep`) that is not a whole number of messages, at least 1', async () => {
    const options = {
      store: new MemoryDocumentStore<Order>(),
      locate: () => ({ partition: 'p', id: 'i' }),
      initial: () => ({ submitted: 0 }),
    };
    expect(() => new StateBased({ ...options, keep: 0 })).toThrow(/at least 1 \(got 0\)/);
    expect(() => new StateBased({ ...options, keep: 1.5 })).toThrow(/whole number/);
  });
});

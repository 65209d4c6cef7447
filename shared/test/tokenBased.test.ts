import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Endpoint } from '../src/bus/index.ts';
import { entity } from '../src/index.ts';
import { defineCommand, defineEvent } from '../src/messages/index.ts';
import { ConversationTracer } from '../src/observe/index.ts';
import { MemoryDocumentStore, MemoryTokenStore } from '../src/store/index.ts';
import { TokenBased, tokenSender } from '../src/strategies/index.ts';
import { MemoryTransport } from '../src/transports/index.ts';

const PlaceOrder = defineCommand('PlaceOrder', z.object({ orderId: z.string() }));
const OrderPlaced = defineEvent('OrderPlaced', z.object({ orderId: z.string() }));
type Count = { count: number };

describe('token-based: a token per receiver', () => {
  const endpoints: Endpoint[] = [];
  afterEach(async () => {
    for (const e of endpoints.splice(0)) await e.stop({ drain: false });
  });

  async function shop(subscribers?: Record<string, string[]>) {
    const tokens = new MemoryTokenStore();
    const documents = new MemoryDocumentStore<Count>();
    const tracer = new ConversationTracer();
    const transport = tracer.wrap(new MemoryTransport());
    const strategy = (partition: string, extra: object = {}) =>
      new TokenBased<Count>({
        store: documents,
        tokens,
        locate: (m) => ({ partition, id: (m.body as { orderId: string }).orderId }),
        initial: () => ({ count: 0 }),
        ...extra,
      });
    const count = async (_m: unknown, ctx: Parameters<typeof entity>[0]) => {
      entity<Count>(ctx).state.count++;
    };
    const orders = new Endpoint({
      name: 'orders',
      transport,
      recoverability: { immediateRetries: 0, delayedRetriesMs: [] },
    });
    strategy('orders', subscribers ? { subscribers } : {})
      .use(orders)
      .handle(PlaceOrder, async (m, ctx) => {
        entity<Count>(ctx).state.count++;
        await ctx.publish(OrderPlaced, m.body);
      });
    const billing = new Endpoint({ name: 'billing', transport });
    strategy('billing').use(billing).handle(OrderPlaced, count);
    const marketing = new Endpoint({ name: 'marketing', transport });
    strategy('marketing').use(marketing).handle(OrderPlaced, count);
    const frontend = new Endpoint({ name: 'frontend', transport, outgoing: [tokenSender(tokens)] });
    endpoints.push(orders, billing, marketing);
    for (const e of [orders, billing, marketing]) await e.start();
    const load = async (partition: string) =>
      (await documents.load(partition, 'o1')).value?.count ?? 0;
    return { tokens, tracer, frontend, load };
  }

  it('an event reaches every subscriber, each processing it once', async () => {
    const s = await shop({ OrderPlaced: ['billing', 'marketing'] });
    const sent = await s.frontend.send(PlaceOrder, { orderId: 'o1' }, { to: 'orders' });
    await s.tracer.waitUntilSettled(sent.headers.conversationId);
    expect([await s.load('orders'), await s.load('billing'), await s.load('marketing')]).toEqual([
      1, 1, 1,
    ]);
    expect(await s.tokens.count(), 'every token consumed').toBe(0);
  });

  it('publishing without knowing the subscribers fails with a clear error, never silently', async () => {
    const s = await shop();
    const sent = await s.frontend.send(PlaceOrder, { orderId: 'o1' }, { to: 'orders' });
    const settled = await s.tracer.waitUntilSettled(sent.headers.conversationId);
    expect(settled.failed.map((f) => f.reason).join()).toMatch(
      /nobody said who subscribes to OrderPlaced/,
    );
    expect(await s.load('billing')).toBe(0);
  });
});

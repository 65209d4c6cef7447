import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Endpoint, type Transport } from '../src/bus/index.ts';
import { defineCommand, defineEvent } from '../src/messages/index.ts';
import { ConversationNotSettledError, ConversationTracer } from '../src/observe/index.ts';
import { describeOn, useIsolation } from '../src/testing/index.ts';
import { MemoryTransport, RabbitMqTransport } from '../src/transports/index.ts';

const PlaceOrder = defineCommand('PlaceOrder', z.object({ orderId: z.string() }));
const OrderPlaced = defineEvent('OrderPlaced', z.object({ orderId: z.string() }));
const AwardPoints = defineCommand('AwardPoints', z.object({ orderId: z.string() }));

const iso = useIsolation('tracer');
let run = 0;
const transports: Record<string, () => Promise<Transport>> = {
  memory: async () => new MemoryTransport(),
  rabbitmq: () =>
    RabbitMqTransport.connect({
      url: iso().amqpUrl,
      prefix: `${iso().prefix}.${++run}.`,
      onDeclare: (name) => iso().track(name),
    }),
};

for (const [name, make] of Object.entries(transports)) {
  (name === 'rabbitmq' ? describeOn.bind(null, 'rabbitmq') : describe)(
    `conversation tracer: ${name}`,
    () => {
      const cleanups: (() => Promise<unknown>)[] = [];
      afterEach(async () => {
        for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
      });

      /** frontend → orders → OrderPlaced → billing and marketing; marketing → loyalty. */
      async function shop(options: { billingFails?: boolean } = {}) {
        const tracer = new ConversationTracer();
        const raw = await make();
        const transport = tracer.wrap(raw);
        cleanups.push(() => raw.close());
        const handled: string[] = [];
        const endpoint = (endpointName: string) => {
          const e = new Endpoint({
            name: endpointName,
            transport,
            recoverability: { immediateRetries: 0, delayedRetriesMs: [60_000] },
          });
          cleanups.push(() => e.stop({ drain: false }));
          return e;
        };
        await endpoint('orders')
          .handle(PlaceOrder, async (m, ctx) => {
            handled.push('orders');
            await ctx.publish(OrderPlaced, m.body);
          })
          .start();
        await endpoint('billing')
          .handle(OrderPlaced, async () => {
            if (options.billingFails) throw new Error('the card reader is offline');
            handled.push('billing');
          })
          .start();
        await endpoint('marketing')
          .handle(OrderPlaced, async (m, ctx) => {
            handled.push('marketing');
            await ctx.send(AwardPoints, m.body, { to: 'loyalty' });
          })
          .start();
        await endpoint('loyalty')
          .handle(AwardPoints, async () => {
            handled.push('loyalty');
          })
          .start();
        return { tracer, handled, frontend: endpoint('frontend') };
      }

      it('settles when every message the conversation caused has been handled, across endpoints', async () => {
        const { tracer, handled, frontend } = await shop();

        const sent = await frontend.send(PlaceOrder, { orderId: 'o1' }, { to: 'orders' });
        const settled = await tracer.waitUntilSettled(sent.headers.conversationId, {
          timeoutMs: 10_000,
        });

        expect([...handled].sort()).toEqual(['billing', 'loyalty', 'marketing', 'orders']);
        expect(settled).toMatchObject({ deliveries: 4, failed: [] });
      });

      it('fails on the deadline with the list of what is still in flight', async () => {
        const { tracer, frontend } = await shop({ billingFails: true });

        const sent = await frontend.send(PlaceOrder, { orderId: 'o1' }, { to: 'orders' });
        const error = await tracer
          .waitUntilSettled(sent.headers.conversationId, { timeoutMs: 1_000 })
          .catch((e: unknown) => e);

        expect(error).toBeInstanceOf(ConversationNotSettledError);
        expect((error as Error).message).toMatch(
          /OrderPlaced \S+ at billing: 1 delivery to go, handled 0×, last failure: the card reader is offline/,
        );
      });
    },
  );
}

import { afterEach, describe, expect, it } from 'vitest';
import {
  Endpoint,
  type EndpointOptions,
  InvalidMessageError,
  type OutgoingOperation,
  type ReceivedMessage,
  RejectedMessageError,
  type Transport,
  type UnitOfWork,
  UnroutableMessageError,
} from '../../src/bus/index.ts';
import type { Envelope } from '../../src/messages/index.ts';
import { gate, Recorder, waitFor } from '../../src/testing/index.ts';
import { CancelOrder, OrderPlaced, OrderShipped, PlaceOrder } from './messages.ts';

/** Every message of this suite has an order id. */
type Order = Envelope<{ orderId: string }>;

const FAST_RETRIES = { immediateRetries: 1, delayedRetriesMs: [20, 40] };

/**
 * The semantics every transport must have, as tests. Run once per transport: the test names are
 * the same in every block, so a difference between transports shows as a failing name.
 */
export function conformanceSuite(name: string, makeTransport: () => Promise<Transport>): void {
  describe(`conformance: ${name}`, () => {
    const transports: Transport[] = [];
    const endpoints: Endpoint[] = [];

    afterEach(async () => {
      await Promise.allSettled(endpoints.splice(0).map((e) => e.stop({ drain: false })));
      await Promise.allSettled(transports.splice(0).map((t) => t.close()));
    });

    async function bus() {
      const transport = await makeTransport();
      transports.push(transport);
      const endpoint = (endpointName: string, options: Partial<EndpointOptions> = {}) => {
        const e = new Endpoint({
          name: endpointName,
          transport,
          recoverability: FAST_RETRIES,
          ...options,
        });
        endpoints.push(e);
        return e;
      };
      /** Collects raw messages from the error queue. */
      const errorQueue = async () => {
        const failed = new Recorder<ReceivedMessage>();
        await transport.receiveRaw(transport.errorQueue, async (m) => {
          failed.push(m);
          return { kind: 'ack' };
        });
        return failed;
      };
      /**
       * Sends a message no handler accepts, and waits until it reaches the error queue: whatever
       * was on its way there before it has arrived by then (one queue, one consumer, in order).
       */
      const flushErrorQueue = async (failed: Recorder<ReceivedMessage>, endpointName: string) => {
        const before = failed.count;
        await transport.dispatch({
          message: { messageId: 'marker', type: 'Marker', headers: {}, body: Buffer.from('{}') },
          destination: { kind: 'send', endpoint: endpointName },
        });
        await waitFor(() => failed.items.some((m) => m.type === 'Marker'), {
          what: 'the marker in the error queue',
        });
        return failed.items.slice(before).filter((m) => m.type !== 'Marker');
      };
      return { transport, endpoint, errorQueue, flushErrorQueue };
    }

    it('send delivers a command to the named endpoint only', async () => {
      const { endpoint } = await bus();
      const orders = new Recorder<Order>();
      const billing = new Recorder<Order>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => orders.push(m))
        .start();
      await endpoint('billing')
        .handle(PlaceOrder, async (m) => billing.push(m))
        .start();
      const sender = endpoint('frontend');

      await sender.send(PlaceOrder, { orderId: 'o1', filling: 'Meat' }, { to: 'orders' });
      await sender.send(PlaceOrder, { orderId: 'marker', filling: 'Meat' }, { to: 'billing' });

      await orders.waitForCount(1, 'PlaceOrder at orders');
      await billing.waitForCount(1, 'the marker at billing');
      expect(orders.items.map((m) => m.body.orderId)).toEqual(['o1']);
      expect(billing.items.map((m) => m.body.orderId)).toEqual(['marker']);
    });

    it('send uses the route configured for the message type', async () => {
      const { endpoint } = await bus();
      const orders = new Recorder<Order>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => orders.push(m))
        .start();
      const sender = endpoint('frontend', { routes: { [PlaceOrder.type]: 'orders' } });

      await sender.send(PlaceOrder, { orderId: 'o1', filling: 'Mushrooms' });

      await orders.waitForCount(1, 'the routed PlaceOrder');
    });

    it('send to an endpoint that has no queue fails to the caller', async () => {
      const { endpoint } = await bus();
      const sender = endpoint('frontend');

      await expect(
        sender.send(PlaceOrder, { orderId: 'o1', filling: 'Meat' }, { to: 'nobody-here' }),
      ).rejects.toThrow(UnroutableMessageError);
    });

    it('publish delivers an event to every subscribing endpoint', async () => {
      const { endpoint } = await bus();
      const billing = new Recorder<Order>();
      const marketing = new Recorder<Order>();
      await endpoint('billing')
        .handle(OrderPlaced, async (m) => billing.push(m))
        .start();
      await endpoint('marketing')
        .handle(OrderPlaced, async (m) => marketing.push(m))
        .start();

      const sent = await endpoint('orders').publish(OrderPlaced, { orderId: 'o1' });

      await billing.waitForCount(1, 'OrderPlaced at billing');
      await marketing.waitForCount(1, 'OrderPlaced at marketing');
      expect(billing.items[0]?.id).toBe(sent.id);
      expect(marketing.items[0]?.id).toBe(sent.id);
    });

    it('publish does not reach endpoints that do not subscribe', async () => {
      const { endpoint } = await bus();
      const shipping = new Recorder<Order>();
      await endpoint('shipping')
        .handle(OrderShipped, async (m) => shipping.push(m))
        .start();
      const orders = endpoint('orders');

      await orders.publish(OrderPlaced, { orderId: 'o1' });
      await orders.publish(OrderShipped, { orderId: 'marker' });

      await shipping.waitForCount(1, 'the OrderShipped marker');
      expect(shipping.items.map((m) => m.type)).toEqual(['OrderShipped']);
    });

    it('sendLocal delivers to the sending endpoint', async () => {
      const { endpoint } = await bus();
      const seen = new Recorder<Order>();
      const orders = endpoint('orders').handle(PlaceOrder, async (m) => seen.push(m));
      await orders.start();

      await orders.sendLocal(PlaceOrder, { orderId: 'o1', filling: 'Strawberry' });

      const [message] = await seen.waitForCount(1, 'the local PlaceOrder');
      expect(message?.headers.sendingEndpoint).toBe('orders');
    });

    it('competing consumers of one endpoint share the messages, each handled once', async () => {
      const { endpoint } = await bus();
      const byInstance = { a: new Recorder<string>(), b: new Recorder<string>() };
      const both = new Recorder<string>();
      for (const key of ['a', 'b'] as const) {
        await endpoint('orders', { concurrency: 1 })
          .handle(PlaceOrder, async (m) => {
            byInstance[key].push(m.body.orderId);
            both.push(m.body.orderId);
          })
          .start();
      }
      const sender = endpoint('frontend');
      const ids = Array.from({ length: 40 }, (_, i) => `o${i}`);

      for (const orderId of ids)
        await sender.send(PlaceOrder, { orderId, filling: 'Meat' }, { to: 'orders' });

      await both.waitForCount(ids.length, 'every order handled');
      expect([...both.items].sort()).toEqual([...ids].sort());
      expect(byInstance.a.count).toBeGreaterThan(0);
      expect(byInstance.b.count).toBeGreaterThan(0);
    });

    it('message id, type, body and custom headers arrive unchanged', async () => {
      const { endpoint } = await bus();
      const seen = new Recorder<Order>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => seen.push(m))
        .start();

      const sent = await endpoint('frontend').send(
        PlaceOrder,
        { orderId: 'o1', filling: 'Mushrooms' },
        { to: 'orders', id: 'my-own-id', headers: { tenant: 'krakow' }, conversationId: 'conv-1' },
      );

      const [received] = await seen.waitForCount(1, 'the PlaceOrder');
      expect(sent.id).toBe('my-own-id');
      expect(received?.id).toBe('my-own-id');
      expect(received?.type).toBe('PlaceOrder');
      expect(received?.body).toEqual({ orderId: 'o1', filling: 'Mushrooms' });
      expect(received?.headers.custom).toEqual({ tenant: 'krakow' });
      expect(received?.headers.conversationId).toBe('conv-1');
      expect(received?.headers.sendingEndpoint).toBe('frontend');
      expect(received?.headers.causationId).toBeUndefined();
      expect(received?.headers.sentAt).toBe(sent.headers.sentAt);
      expect(received?.headers.deliveryCount).toBe(1);
    });

    it('messages sent by a handler carry its conversation id, causation id and endpoint', async () => {
      const { endpoint } = await bus();
      const placed = new Recorder<Order>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m, ctx) => {
          await ctx.publish(OrderPlaced, { orderId: m.body.orderId });
        })
        .start();
      await endpoint('billing')
        .handle(OrderPlaced, async (m) => placed.push(m))
        .start();

      const command = await endpoint('frontend').send(
        PlaceOrder,
        { orderId: 'o1', filling: 'Meat' },
        { to: 'orders' },
      );

      const [event] = await placed.waitForCount(1, 'OrderPlaced caused by the command');
      expect(event?.headers.conversationId).toBe(command.headers.conversationId);
      expect(event?.headers.causationId).toBe(command.id);
      expect(event?.headers.sendingEndpoint).toBe('orders');
      expect(event?.id).not.toBe(command.id);
    });

    it('a message sent while its endpoint is stopped is delivered once it starts', async () => {
      const { endpoint } = await bus();
      const seen = new Recorder<Order>();
      const first = endpoint('orders').handle(PlaceOrder, async () => {});
      await first.start(); // declares the queue
      await first.stop();

      await endpoint('frontend').send(
        PlaceOrder,
        { orderId: 'o1', filling: 'Meat' },
        { to: 'orders' },
      );
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => seen.push(m))
        .start();

      const [message] = await seen.waitForCount(1, 'the PlaceOrder sent while stopped');
      expect(message?.body).toEqual({ orderId: 'o1', filling: 'Meat' });
    });

    /**
     * Starts a handler, lets go of its endpoint without acking (as a crash would), starts a new
     * instance and returns the first delivery and the redelivery. The first handler finishes
     * only after letting go: its ack must not count.
     */
    async function crashMidHandler() {
      const { endpoint } = await bus();
      const started = new Recorder<Order>();
      const hold = gate();
      const crashing = endpoint('orders').handle(PlaceOrder, async (m) => {
        started.push(m);
        await hold.wait;
      });
      await crashing.start();
      await endpoint('frontend').send(
        PlaceOrder,
        { orderId: 'o1', filling: 'Meat' },
        { to: 'orders' },
      );
      const [first] = await started.waitForCount(1, 'the handler to start');

      await crashing.stop({ drain: false });
      const again = new Recorder<Order>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => again.push(m))
        .start();
      hold.open();

      const [redelivered] = await again.waitForCount(1, 'the redelivery');
      return { first, redelivered };
    }

    it('a message is acked only after its handler finishes: stopping without ack redelivers it', async () => {
      const { first, redelivered } = await crashMidHandler();
      expect(redelivered?.id).toBe(first?.id);
      expect(redelivered?.body).toEqual(first?.body);
    });

    it('a redelivered message counts the earlier delivery', async () => {
      const { first, redelivered } = await crashMidHandler();
      expect(first?.headers.deliveryCount).toBe(1);
      expect(redelivered?.headers.deliveryCount).toBe(2);
    });

    it('a failing handler is retried immediately and succeeds without reaching the error queue', async () => {
      const { endpoint, errorQueue, flushErrorQueue } = await bus();
      const failed = await errorQueue();
      const attempts = new Recorder<number>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => {
          attempts.push(m.headers.deliveryCount);
          if (attempts.count === 1) throw new Error('transient: deadlock detected');
        })
        .start();

      await endpoint('frontend').send(
        PlaceOrder,
        { orderId: 'o1', filling: 'Meat' },
        { to: 'orders' },
      );

      await attempts.waitForCount(2, 'the retry');
      expect(attempts.items).toEqual([1, 2]);
      expect(await flushErrorQueue(failed, 'orders')).toEqual([]);
    });

    it('after immediate retries, a message comes back after a delay and can succeed', async () => {
      const { endpoint, errorQueue, flushErrorQueue } = await bus();
      const failed = await errorQueue();
      const attempts = new Recorder<number>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => {
          attempts.push(m.headers.deliveryCount);
          if (attempts.count <= 2) throw new Error('still failing');
        })
        .start();

      await endpoint('frontend').send(
        PlaceOrder,
        { orderId: 'o1', filling: 'Meat' },
        { to: 'orders' },
      );

      await attempts.waitForCount(3, 'the delayed retry');
      expect(attempts.items).toEqual([1, 2, 3]);
      expect(await flushErrorQueue(failed, 'orders')).toEqual([]);
    });

    it('when every retry fails, the message goes to the error queue with failure headers', async () => {
      const { transport, endpoint, errorQueue } = await bus();
      const failed = await errorQueue();
      const attempts = new Recorder<number>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => {
          attempts.push(m.headers.deliveryCount);
          throw new Error('the pierogi machine is on fire');
        })
        .start();

      const sent = await endpoint('frontend').send(
        PlaceOrder,
        { orderId: 'o1', filling: 'Meat' },
        { to: 'orders' },
      );

      const [dead] = await failed.waitForCount(1, 'the message in the error queue');
      // 1 immediate retry per delivery, 2 delayed retries: 3 deliveries of 2 attempts.
      expect(attempts.items).toEqual([1, 2, 3, 4, 5, 6]);
      expect(dead?.messageId).toBe(sent.id);
      expect(dead?.type).toBe('PlaceOrder');
      expect(JSON.parse(dead?.body.toString() ?? '')).toEqual({ orderId: 'o1', filling: 'Meat' });
      expect(dead?.headers['x-failure-reason']).toBe('handler-failed');
      expect(dead?.headers['x-exception-message']).toBe('the pierogi machine is on fire');
      expect(dead?.headers['x-exception-stack']).toContain('Error: the pierogi machine is on fire');
      expect(dead?.headers['x-source-queue']).toBe(
        transport.errorQueue.replace(/error$/, 'orders'),
      );
      expect(dead?.headers['x-attempts']).toBe('6');
      expect(dead?.headers['x-source-endpoint']).toBe('orders');
      expect(dead?.headers['x-conversation-id']).toBe(sent.headers.conversationId);
    });

    it('a message its handler rejects goes to the error queue at once, with the reason', async () => {
      const { endpoint, errorQueue } = await bus();
      const failed = await errorQueue();
      const attempts = new Recorder<number>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => {
          attempts.push(m.headers.deliveryCount);
          throw new RejectedMessageError(`order ${m.body.orderId} is submitted already`);
        })
        .start();

      await endpoint('frontend').send(
        PlaceOrder,
        { orderId: 'o1', filling: 'Meat' },
        { to: 'orders' },
      );

      const [dead] = await failed.waitForCount(1, 'the rejected message in the error queue');
      expect(attempts.items, 'no retry').toEqual([1]);
      expect(dead?.headers['x-failure-reason']).toBe('rejected');
      expect(dead?.headers['x-exception-message']).toBe('order o1 is submitted already');
      expect(dead?.headers['x-attempts']).toBe('1');
    });

    it('counts the messages waiting in a queue; a queue that does not exist has none', async () => {
      const { transport, endpoint } = await bus();
      const orders = endpoint('orders').handle(PlaceOrder, async () => {});
      await orders.start(); // declares the queue
      await orders.stop();
      const frontend = endpoint('frontend');
      for (const orderId of ['o1', 'o2', 'o3']) {
        await frontend.send(PlaceOrder, { orderId, filling: 'Meat' }, { to: 'orders' });
      }
      const queue = transport.errorQueue.replace(/error$/, 'orders');
      await waitFor(async () => (await transport.messageCount(queue)) === 3, {
        what: 'three messages waiting in the orders queue',
      });
      expect(await transport.messageCount(transport.errorQueue.replace(/error$/, 'nowhere'))).toBe(
        0,
      );
    });

    const poisonCases = [
      {
        name: 'a body that is not JSON',
        message: { messageId: 'p1', type: 'PlaceOrder', body: '{"orderId": "o1", oops' },
        reason: 'invalid-json',
        says: 'not JSON',
      },
      {
        name: 'an unknown message type',
        message: { messageId: 'p1', type: 'MakeCoffee', body: '{}' },
        reason: 'unknown-type',
        says: 'no handler for message type "MakeCoffee"',
      },
      {
        name: 'a body that fails its schema',
        message: {
          messageId: 'p1',
          type: 'PlaceOrder',
          body: '{"orderId": "o1", "filling": "Pineapple"}',
        },
        reason: 'invalid-body',
        says: 'filling',
      },
      {
        name: 'a message without an id',
        message: {
          messageId: undefined,
          type: 'PlaceOrder',
          body: '{"orderId": "o1", "filling": "Meat"}',
        },
        reason: 'missing-id',
        says: 'no id',
      },
    ];

    for (const poison of poisonCases) {
      it(`poison: ${poison.name} goes to the error queue at once, and the consumer goes on`, async () => {
        const { transport, endpoint, errorQueue } = await bus();
        const failed = await errorQueue();
        const handled = new Recorder<Order>();
        const orders = endpoint('orders').handle(PlaceOrder, async (m) => handled.push(m));
        await orders.start();

        await transport.dispatch({
          message: {
            messageId: poison.message.messageId,
            type: poison.message.type,
            headers: { 'x-conversation-id': 'c-poison' },
            body: Buffer.from(poison.message.body),
          },
          destination: { kind: 'send', endpoint: 'orders' },
        });
        await endpoint('frontend').send(
          PlaceOrder,
          { orderId: 'good', filling: 'Meat' },
          { to: 'orders' },
        );

        const [dead] = await failed.waitForCount(1, 'the poison message in the error queue');
        await handled.waitForCount(1, 'the good message after the poison one');
        expect(handled.items.map((m) => m.body.orderId)).toEqual(['good']);
        expect(dead?.headers['x-failure-reason']).toBe(poison.reason);
        expect(dead?.headers['x-exception-message']).toContain(poison.says);
        expect(dead?.headers['x-attempts']).toBe('0');
        expect(dead?.body.toString()).toBe(poison.message.body); // kept byte for byte
      });
    }

    it('a graceful stop lets in-flight messages finish and acks them', async () => {
      const { endpoint } = await bus();
      const started = new Recorder<Order>();
      const finished = new Recorder<Order>();
      const hold = gate();
      const orders = endpoint('orders').handle(PlaceOrder, async (m) => {
        started.push(m);
        await hold.wait;
        finished.push(m);
      });
      await orders.start();
      const sender = endpoint('frontend');
      await sender.send(PlaceOrder, { orderId: 'o1', filling: 'Meat' }, { to: 'orders' });
      await started.waitForCount(1, 'the handler to start');

      const stopping = orders.stop();
      hold.open();
      await stopping;

      expect(finished.items.map((m) => m.body.orderId)).toEqual(['o1']);
      const after = new Recorder<Order>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => after.push(m))
        .start();
      await sender.send(PlaceOrder, { orderId: 'marker', filling: 'Meat' }, { to: 'orders' });
      await after.waitForCount(1, 'the marker');
      expect(after.items.map((m) => m.body.orderId)).toEqual(['marker']); // o1 was acked
    });

    it('no more messages are handled at once than the concurrency allows', async () => {
      const { endpoint } = await bus();
      let active = 0;
      const maxActive = new Recorder<number>();
      const hold = gate();
      const done = new Recorder<string>();
      await endpoint('orders', { concurrency: 3 })
        .handle(PlaceOrder, async (m) => {
          active++;
          maxActive.push(active);
          await hold.wait;
          active--;
          done.push(m.body.orderId);
        })
        .start();
      const probe = new Recorder<Order>();
      await endpoint('probe')
        .handle(CancelOrder, async (m) => probe.push(m))
        .start();
      const sender = endpoint('frontend');
      for (let i = 0; i < 10; i++) {
        await sender.send(PlaceOrder, { orderId: `o${i}`, filling: 'Meat' }, { to: 'orders' });
      }

      await maxActive.waitForCount(3, 'three handlers to be busy');
      // A round trip through another queue gives the transport every chance to over-deliver.
      await sender.send(CancelOrder, { orderId: 'probe' }, { to: 'probe' });
      await probe.waitForCount(1, 'the probe');
      expect(active).toBe(3);
      hold.open();
      await done.waitForCount(10, 'all ten orders');
      expect(Math.max(...maxActive.items)).toBe(3);
    });

    it('an incoming middleware wraps the handler and may run it twice', async () => {
      const { endpoint } = await bus();
      const calls = new Recorder<string>();
      const trace: string[] = [];
      await endpoint('orders', {
        incoming: [
          async (ctx, next) => {
            trace.push(`before ${ctx.message.type}`);
            await next();
            await next(); // the chaos monkey's duplicate
            trace.push('after');
          },
        ],
      })
        .handle(PlaceOrder, async (m) => calls.push(m.id))
        .start();

      const sent = await endpoint('frontend').send(
        PlaceOrder,
        { orderId: 'o1', filling: 'Meat' },
        { to: 'orders' },
      );

      await calls.waitForCount(2, 'both runs of the handler');
      await waitFor(() => trace.length === 2, { what: 'the middleware to finish' });
      expect(calls.items).toEqual([sent.id, sent.id]);
      expect(trace).toEqual(['before PlaceOrder', 'after']);
    });

    it('outgoing middleware can hold messages sent by a handler and dispatch them after it succeeds', async () => {
      const { endpoint } = await bus();
      const held = new WeakMap<UnitOfWork, OutgoingOperation[]>();
      const placed = new Recorder<Order>();
      await endpoint('billing')
        .handle(OrderPlaced, async (m) => placed.push(m))
        .start();
      let attempt = 0;
      const orders = endpoint('orders', {
        outgoing: [
          async (ctx, next) => {
            if (!ctx.incoming) return next();
            const list = held.get(ctx.incoming.work) ?? [];
            list.push(ctx.operation);
            held.set(ctx.incoming.work, list);
          },
        ],
      });
      orders.use({
        incoming: async (ctx, next) => {
          await next();
          await orders.dispatch(held.get(ctx.work) ?? []);
        },
      });
      await orders
        .handle(PlaceOrder, async (m, ctx) => {
          attempt++;
          await ctx.publish(OrderPlaced, { orderId: m.body.orderId });
          if (attempt === 1) throw new Error('fails after publishing');
        })
        .start();

      const command = await endpoint('frontend').send(
        PlaceOrder,
        { orderId: 'o1', filling: 'Meat' },
        { to: 'orders' },
      );
      await placed.waitForCount(1, 'the OrderPlaced of the successful attempt');
      await endpoint('frontend').publish(OrderPlaced, { orderId: 'marker' });
      await placed.waitForCount(2, 'the marker');

      expect(attempt).toBe(2);
      expect(placed.items.map((m) => m.body)).toEqual([{ orderId: 'o1' }, { orderId: 'marker' }]);
      expect(placed.items[0]?.headers.causationId).toBe(command.id);
    });

    it('an outgoing body that fails its schema is refused before it leaves', async () => {
      const { endpoint } = await bus();
      const seen = new Recorder<Order>();
      await endpoint('orders')
        .handle(PlaceOrder, async (m) => seen.push(m))
        .start();
      const sender = endpoint('frontend');

      await expect(
        sender.send(PlaceOrder, { orderId: 'o1', filling: 'Pineapple' } as never, { to: 'orders' }),
      ).rejects.toThrow(InvalidMessageError);
      await sender.send(PlaceOrder, { orderId: 'marker', filling: 'Meat' }, { to: 'orders' });
      await seen.waitForCount(1, 'the marker');
      expect(seen.items.map((m) => m.body.orderId)).toEqual(['marker']);
    });
  });
}

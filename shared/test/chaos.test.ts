import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { captureOutgoing, Endpoint, startCapturing } from '../src/bus/index.ts';
import {
  Chaos,
  SimulatedCrash,
  SimulatedFailure,
  seededRandom,
  UnknownStepError,
} from '../src/chaos/index.ts';
import { defineCommand, defineEvent, type Envelope } from '../src/messages/index.ts';
import { Recorder, waitFor } from '../src/testing/index.ts';
import { MemoryTransport } from '../src/transports/index.ts';

const AddItem = defineCommand('AddItem', z.object({ orderId: z.string(), filling: z.string() }));
const ItemAdded = defineEvent('ItemAdded', z.object({ orderId: z.string(), filling: z.string() }));
type Item = Envelope<{ orderId: string; filling: string }>;

const endpoints: Endpoint[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.stop({ drain: false })));
});

/** orders publishes ItemAdded for every AddItem; billing records what it gets. */
/** A billing endpoint recording every ItemAdded it handles, started. */
async function billingOn(transport: MemoryTransport): Promise<Recorder<Item>> {
  const billing = new Recorder<Item>();
  const endpoint = new Endpoint({ name: 'billing', transport }).handle(ItemAdded, async (m) =>
    billing.push(m),
  );
  endpoints.push(endpoint);
  await endpoint.start();
  return billing;
}

/** Billing, and an orders endpoint that publishes to it through the chaos monkey. */
async function publisher(chaos: Chaos) {
  const transport = new MemoryTransport();
  const billing = await billingOn(transport);
  const orders = new Endpoint({ name: 'orders', transport: chaos.wrap(transport) });
  return { billing, orders };
}

async function shop(chaos: Chaos, ordersOptions: { incoming?: boolean } = {}) {
  const transport = new MemoryTransport();
  const handled = new Recorder<Item>();
  const orders = new Endpoint({
    name: 'orders',
    // What orders sends goes through the chaos monkey; what the frontend sends does not.
    transport: chaos.wrap(transport),
    concurrency: 1,
    recoverability: { immediateRetries: 2, delayedRetriesMs: [] },
    incoming: ordersOptions.incoming ? [chaos.incoming] : [],
  }).handle(AddItem, async (m, ctx) => {
    handled.push(m);
    await ctx.publish(ItemAdded, m.body);
  });
  const frontend = new Endpoint({ name: 'frontend', transport });
  endpoints.push(orders, frontend);
  await orders.start();
  const billing = await billingOn(transport);
  const add = (orderId: string, filling: string) =>
    frontend.send(AddItem, { orderId, filling }, { to: 'orders' });
  return { billing, handled, add, chaos };
}

describe('chaos', () => {
  it('duplicate: the outgoing message arrives twice with the same id', async () => {
    const chaos = new Chaos({ seed: 1 });
    chaos.add({ kind: 'duplicate', messageType: 'ItemAdded' });
    const { billing, add } = await shop(chaos);

    await add('o1', 'Meat');

    const [a, b] = await billing.waitForCount(2, 'both copies');
    expect(a?.id).toBe(b?.id);
    expect(chaos.injections).toMatchObject([
      { kind: 'duplicate', messageType: 'ItemAdded', messageId: a?.id },
    ]);
  });

  it('selects by body field, and only the first N times', async () => {
    const chaos = new Chaos({ seed: 1 });
    chaos.add({ kind: 'duplicate', field: { path: 'filling', equals: 'Strawberry' }, times: 1 });
    const { billing, add } = await shop(chaos);

    await add('o1', 'Meat');
    await add('o2', 'Strawberry');
    await add('o3', 'Strawberry');

    await billing.waitForCount(4, 'Meat once, the first Strawberry twice, the second once');
    await waitFor(() => billing.items.filter((m) => m.body.orderId === 'o3').length === 1, {
      what: 'the second Strawberry',
    });
    expect(billing.items.map((m) => m.body.orderId).sort()).toEqual(['o1', 'o2', 'o2', 'o3']);
  });

  it('fail-publish: the handler fails and is retried; nothing is sent by the failed attempt', async () => {
    const chaos = new Chaos({ seed: 1 });
    chaos.add({ kind: 'fail-publish', messageType: 'ItemAdded', times: 1 });
    const { billing, handled, add } = await shop(chaos);

    await add('o1', 'Meat');

    await billing.waitForCount(1, 'ItemAdded from the retry');
    expect(handled.items.map((m) => m.headers.deliveryCount)).toEqual([1, 2]);
  });

  it('fail-publish strikes where the message leaves: after the commit on an endpoint that captures', async () => {
    const chaos = new Chaos({ seed: 1 });
    chaos.add({ kind: 'fail-publish', messageType: 'ItemAdded', times: 1 });
    const transport = new MemoryTransport();
    const billing = await billingOn(transport);
    const steps: string[] = [];
    // An outbox in miniature: what the handler sends is kept, then dispatched after its "commit".
    const orders = new Endpoint({
      name: 'orders',
      transport: chaos.wrap(transport),
      recoverability: { immediateRetries: 1, delayedRetriesMs: [] },
      outgoing: [captureOutgoing],
      incoming: [
        async (context, next) => {
          const captured = startCapturing(context);
          await next();
          steps.push('commit');
          try {
            await orders.dispatch(captured);
            steps.push('sent');
          } catch (error) {
            steps.push('send failed');
            throw error;
          }
        },
      ],
    }).handle(AddItem, async (m, ctx) => {
      await ctx.publish(ItemAdded, m.body); // captured: never fails here
      steps.push('handler published');
    });
    const frontend = new Endpoint({ name: 'frontend', transport });
    endpoints.push(orders, frontend);
    await orders.start();
    await frontend.send(AddItem, { orderId: 'o1', filling: 'Meat' }, { to: 'orders' });
    await billing.waitForCount(1, 'ItemAdded from the retry');
    expect(steps).toEqual([
      'handler published',
      'commit',
      'send failed',
      'handler published',
      'commit',
      'sent',
    ]);
  });

  it('a rule naming a step that does not exist is refused, with the steps that do', () => {
    const chaos = new Chaos({ seed: 1, steps: ['commit', 'dispatch'] });
    expect(() => chaos.add({ kind: 'fail-commit', step: 'comit' as 'commit' })).toThrow(
      UnknownStepError,
    );
    expect(() => chaos.add({ kind: 'fail-commit', step: 'comit' as 'commit' })).toThrow(
      'there is no step "comit"; the steps are commit, dispatch',
    );
    const id = chaos.add({ kind: 'fail-commit', step: 'dispatch' });
    expect(() => chaos.update(id, { step: 'nowhere' as 'commit' })).toThrow(UnknownStepError);
    expect(chaos.rules().map((r) => r.rule.step)).toEqual(['dispatch']);
  });

  it('drop-then-redeliver: the handler sees the message only on its second delivery', async () => {
    const chaos = new Chaos({ seed: 1 });
    chaos.add({ kind: 'drop-then-redeliver', messageType: 'AddItem', times: 1 });
    const { handled, add } = await shop(chaos, { incoming: true });

    await add('o1', 'Meat');

    const [first] = await handled.waitForCount(1, 'the redelivered AddItem');
    expect(first?.headers.deliveryCount).toBe(2);
    expect(chaos.injections.map((i) => i.kind)).toEqual(['drop-then-redeliver']);
  });

  it('delay: a delayed message is overtaken by one sent after it', async () => {
    const chaos = new Chaos({ seed: 1 });
    chaos.add({ kind: 'delay', field: { path: 'orderId', equals: 'slow' }, delayMs: 50 });
    const { billing, orders } = await publisher(chaos);

    const slow = orders.publish(ItemAdded, { orderId: 'slow', filling: 'Meat' });
    await orders.publish(ItemAdded, { orderId: 'fast', filling: 'Meat' });
    await slow;

    await billing.waitForCount(2, 'both events');
    expect(billing.items.map((m) => m.body.orderId)).toEqual(['fast', 'slow']);
  });

  it('delay at a step: the step waits, so a second copy gets in first; outgoing messages are not held', async () => {
    const chaos = new Chaos({ seed: 1 });
    chaos.add({ kind: 'delay', step: 'save', messageType: 'SubmitOrder', delayMs: 30 });
    const order: string[] = [];
    const save = (who: string) => async () => void order.push(who);
    const slow = chaos.around('save', { id: 'a', type: 'SubmitOrder' }, save('held'));
    await chaos.around('save', { id: 'b', type: 'AddItem' }, save('other type'));
    await slow;
    expect(order).toEqual(['other type', 'held']);
    expect(chaos.injections.map((i) => [i.kind, i.step])).toEqual([['delay', 'save']]);

    const { billing, orders } = await publisher(chaos);
    await orders.publish(ItemAdded, { orderId: 'o1', filling: 'Meat' });
    await billing.waitForCount(1, 'the event, not held by a rule for a step');
    expect(chaos.injections).toHaveLength(1);
  });

  it('around: fail-commit fails before the work, timeout fails after it, crash at a named step', async () => {
    const chaos = new Chaos({ seed: 1 });
    const commits: string[] = [];
    const commit = (what: string) => async () => void commits.push(what);
    const message = { id: 'm1', type: 'AddItem', body: { filling: 'Meat' } };

    const failing = chaos.add({ kind: 'fail-commit', times: 1 });
    await expect(chaos.around('commit', message, commit('a'))).rejects.toThrow(SimulatedFailure);
    chaos.remove(failing);
    chaos.add({ kind: 'timeout', delayMs: 5, times: 1 });
    await expect(chaos.around('commit', message, commit('b'))).rejects.toThrow(
      /timed out.*did happen/,
    );
    chaos.add({ kind: 'crash', step: 'after-commit', times: 1 });
    await expect(chaos.around('after-commit', message, commit('c'))).rejects.toThrow(
      SimulatedCrash,
    );
    await chaos.around('commit', message, commit('d'));

    expect(commits).toEqual(['b', 'd']);
    expect(chaos.injections.map((i) => `${i.kind}@${i.step}`)).toEqual([
      'fail-commit@commit',
      'timeout@commit',
      'crash@after-commit',
    ]);
  });

  it('rules can be added, changed and removed while the endpoints run', async () => {
    const chaos = new Chaos({ seed: 1 });
    const { billing, add } = await shop(chaos);
    await add('o1', 'Meat');
    await billing.waitForCount(1, 'o1 without chaos');

    const rule = chaos.add({ kind: 'duplicate' });
    await add('o2', 'Meat');
    await billing.waitForCount(3, 'o2 twice');
    chaos.update(rule, { field: { path: 'filling', equals: 'Strawberry' } });
    await add('o3', 'Meat');
    await billing.waitForCount(4, 'o3 once (the rule now wants Strawberry)');
    chaos.remove(rule);
    await add('o4', 'Strawberry');
    await billing.waitForCount(5, 'o4 once (no rule)');

    expect(billing.items.map((m) => m.body.orderId)).toEqual(['o1', 'o2', 'o2', 'o3', 'o4']);
    expect(chaos.rules()).toEqual([]);
  });

  it('replays: the same seed gives the same injections in the same order', async () => {
    const run = async (seed: number) => {
      const chaos = new Chaos({ seed });
      chaos.add({ kind: 'duplicate', rate: 0.3 });
      chaos.add({ kind: 'fail-publish', rate: 0.2 });
      const message = (i: number) => ({
        id: `m${i}`,
        type: 'ItemAdded',
        body: { orderId: `o${i}` },
      });
      // Drive the wrapped transport directly: the order of messages is fixed, so only the seed decides.
      const transport = chaos.wrap(new MemoryTransport());
      for (let i = 0; i < 200; i++) {
        const { id, type, body } = message(i);
        const operation = {
          message: { messageId: id, type, headers: {}, body: Buffer.from(JSON.stringify(body)) },
          destination: { kind: 'publish' as const, type: 'ItemAdded' },
        };
        await transport.dispatch(operation).catch(() => {});
      }
      await transport.close();
      return chaos.injections.map((i) => `${i.kind}:${i.messageId}`);
    };

    const [first, again, other] = [await run(42), await run(42), await run(7)];
    expect(first.length).toBeGreaterThan(20);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('the seeded source does not change between versions (recorded seeds keep replaying)', () => {
    const random = seededRandom(2026);
    const firstThree = [random.next(), random.next(), random.next()].map((n) => n.toFixed(6));
    expect(firstThree).toEqual(['0.455408', '0.308496', '0.661157']);
  });
});

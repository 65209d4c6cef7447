import { afterEach, expect, it } from 'vitest';
import { z } from 'zod';
import { Endpoint, type Transport } from '../src/bus/index.ts';
import { defineCommand } from '../src/messages/index.ts';
import { FailedMessages } from '../src/recovery/index.ts';
import { describeOn, Recorder, useIsolation, waitFor } from '../src/testing/index.ts';
import { MemoryTransport, RabbitMqTransport } from '../src/transports/index.ts';

const AddItem = defineCommand('AddItem', z.object({ orderId: z.string(), filling: z.string() }));

describeOn('rabbitmq', 'failed messages: the error queue, listed and sent back (Postgres)', () => {
  const iso = useIsolation('failed messages');
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });
  let run = 0;

  const transports: Record<string, () => Promise<Transport>> = {
    rabbitmq: () =>
      RabbitMqTransport.connect({
        url: iso().amqpUrl,
        prefix: `${iso().prefix}.${++run}.`,
        onDeclare: (name) => iso().track(name),
      }),
    memory: async () => new MemoryTransport({ prefix: `memory.${++run}.` }),
  };

  /** Orders fails every AddItem while `broken`; the failed ones go to the error queue at once. */
  async function setup(kind: string) {
    const transport = await (transports[kind] as () => Promise<Transport>)();
    cleanups.push(() => transport.close());
    const table = `failed_${run}`;
    const failed = new FailedMessages(iso().pool(), transport, { table });
    await failed.install();
    const state = { broken: true };
    const handled = new Recorder<{ filling: string; deliveryCount: number }>();
    const orders = new Endpoint({
      name: 'orders',
      transport,
      recoverability: { immediateRetries: 1, delayedRetriesMs: [] },
    }).handle(AddItem, async (m) => {
      if (state.broken) throw new Error(`the ${m.body.filling} machine is broken`);
      handled.push({ filling: m.body.filling, deliveryCount: m.headers.deliveryCount });
    });
    await orders.start();
    cleanups.push(() => orders.stop());
    const frontend = new Endpoint({ name: 'frontend', transport, routes: { AddItem: 'orders' } });
    return { transport, failed, state, handled, frontend };
  }

  for (const kind of ['rabbitmq', 'memory']) {
    it(`${kind}: lists what failed, with why and where; a retry brings it back as new, once`, async () => {
      const { transport, failed, state, handled, frontend } = await setup(kind);
      const meat = await frontend.send(AddItem, { orderId: 'o-1', filling: 'Meat' });
      await frontend.send(AddItem, { orderId: 'o-1', filling: 'Strawberry' });
      await waitFor(async () => (await transport.messageCount(transport.errorQueue)) === 2, {
        what: 'both messages in the error queue',
      });

      await failed.takeWaiting();
      expect(await transport.messageCount(transport.errorQueue)).toBe(0);
      const listed = await failed.list();
      expect(listed.map((f) => [f.type, f.reason, f.endpoint, f.attempts])).toEqual([
        ['AddItem', 'handler-failed', 'orders', 2],
        ['AddItem', 'handler-failed', 'orders', 2],
      ]);
      const first = listed[0];
      expect(first?.messageId).toBe(meat.id);
      expect(first?.error).toBe('the Meat machine is broken');
      expect(JSON.parse(first?.body ?? '')).toEqual({ orderId: 'o-1', filling: 'Meat' });
      expect(await failed.get(first?.id ?? '')).toEqual(first);

      // Sent back while still broken: it gets the whole retry policy again, and fails again.
      expect(await failed.retry(first?.id ?? '')).toBe(true);
      expect(await failed.retry(first?.id ?? ''), 'gone once sent back').toBe(false);
      await waitFor(async () => (await transport.messageCount(transport.errorQueue)) === 1, {
        what: 'the Meat in the error queue again',
      });
      await failed.takeWaiting();
      const again = (await failed.list()).find((f) => f.messageId === meat.id);
      expect(again?.attempts, 'its counters started over').toBe(2);
      expect(again?.retries).toBe(1);

      state.broken = false; // the fix is deployed
      expect(await failed.retry(again?.id ?? '')).toBe(true);
      const [back] = await handled.waitForCount(1, 'the Meat sent back');
      // A new first delivery: the counters of the failed attempts are gone.
      expect(back).toEqual({ filling: 'Meat', deliveryCount: 1 });
      expect(await failed.count()).toBe(1);

      expect(await failed.retryAll()).toBe(1);
      await handled.waitForCount(2, 'the Strawberry sent back');
      expect(await failed.list()).toEqual([]);
    });
  }

  it('keeps a message that could not be read, with the reason; deleting forgets it', async () => {
    const { transport, failed } = await setup('rabbitmq');
    await failed.start(); // takes them as they come, as a running shop does
    cleanups.push(() => failed.stop());
    await transport.dispatch({
      message: {
        messageId: 'poison-1',
        type: 'AddItem',
        headers: {},
        body: Buffer.from('{"orderId": "o-2", "filling": 42}'),
      },
      destination: { kind: 'send', endpoint: 'orders' },
    });
    await waitFor(async () => (await failed.count()) === 1, { what: 'the poison message kept' });
    const [poison] = await failed.list();
    expect(poison?.reason).toBe('invalid-body');
    expect(poison?.error).toMatch(/filling/);
    expect(poison?.attempts).toBe(0);
    expect(await failed.delete(poison?.id ?? '')).toBe(true);
    expect(await failed.delete(poison?.id ?? '')).toBe(false);
    expect(await failed.get('not-a-number')).toBeUndefined();
    expect(await failed.list()).toEqual([]);
  });

  it('what Postgres cannot store as it came (NUL bytes, an impossible date) is kept anyway, and the queue goes on', async () => {
    const { transport, failed } = await setup('rabbitmq');
    await failed.start();
    cleanups.push(() => failed.stop());
    // A NUL in a header: refused at once as unreadable, never retried 'as if temporary'.
    await transport.dispatch({
      message: {
        messageId: 'nul-header',
        type: 'AddItem',
        headers: { 'x-conversation-id': 'c\u0000' },
        body: Buffer.from('{"orderId":"o-9","filling":"Meat"}'),
      },
      destination: { kind: 'send', endpoint: 'orders' },
    });
    // Garbage with NUL bytes and a date JavaScript takes and Postgres would not, straight into
    // the error queue, with a normal failure behind them.
    await transport.dispatch({
      message: {
        messageId: 'nul-body',
        type: 'AddItem',
        headers: { 'x-failed-at': '2026-02-30T00:00:00Z', 'x-source-endpoint': 'orders' },
        body: Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x00, 0x01]),
      },
      destination: { kind: 'send', endpoint: 'error' },
    });
    await transport.dispatch({
      message: {
        messageId: 'behind',
        type: 'AddItem',
        headers: { 'x-failure-reason': 'handler-failed', 'x-source-endpoint': 'orders' },
        body: Buffer.from('{"orderId":"o-9","filling":"Meat"}'),
      },
      destination: { kind: 'send', endpoint: 'error' },
    });
    await waitFor(async () => (await failed.count()) === 3, {
      what: 'all three kept, none holding back the others',
    });
    const listed = await failed.list();
    expect(listed.find((f) => f.messageId === 'nul-header')?.reason).toBe('invalid-headers');
    expect(listed.find((f) => f.messageId === 'nul-body')?.body).toContain('\uFFFD');
    expect(listed.find((f) => f.messageId === 'behind')?.reason).toBe('handler-failed');
  });
});

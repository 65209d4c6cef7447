import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { OutgoingOperation } from '../src/bus/context.ts';
import { Endpoint } from '../src/bus/index.ts';
import { Chaos } from '../src/chaos/index.ts';
import { entity, metadataOf, type TransactionMetadata } from '../src/index.ts';
import { defineCommand, defineEvent } from '../src/messages/index.ts';
import { ConversationTracer } from '../src/observe/index.ts';
import { MemoryDocumentStore, MemoryInbox, MemoryOutboxStore } from '../src/store/index.ts';
import { OutOfDocumentOutbox } from '../src/strategies/index.ts';
import { MemoryTransport } from '../src/transports/index.ts';

const AddItem = defineCommand('AddItem', z.object({ orderId: z.string(), filling: z.string() }));
const ItemAdded = defineEvent('ItemAdded', z.object({ orderId: z.string(), filling: z.string() }));

describe('out-of-document outbox: another message finishes a pending transaction', () => {
  const endpoints: Endpoint[] = [];
  afterEach(async () => {
    for (const e of endpoints.splice(0)) await e.stop({ drain: false });
  });

  it("marks the owner's id, not its own: the owner is not processed twice, the finisher not dropped", async () => {
    const documents = new MemoryDocumentStore<{ lines: string[] }>();
    const inbox = new MemoryInbox();
    const chaos = new Chaos({ seed: 1 });
    // M commits, then "crashes" before its messages are sent: the transaction stays pending.
    chaos.add({
      kind: 'crash',
      step: 'load-outbox',
      field: { path: 'filling', equals: 'Meat' },
      times: 1,
    });
    const tracer = new ConversationTracer();
    const transport = tracer.wrap(new MemoryTransport());
    const orders = new Endpoint({
      name: 'orders',
      transport,
      // M comes back only after N has been handled: N finds M's transaction and finishes it.
      recoverability: { immediateRetries: 0, delayedRetriesMs: [1_000] },
    });
    new OutOfDocumentOutbox<{ lines: string[] }>({
      store: documents,
      inbox,
      outbox: new MemoryOutboxStore<OutgoingOperation>(),
      locate: (m) => ({ partition: 'orders', id: (m.body as { orderId: string }).orderId }),
      initial: () => ({ lines: [] }),
      steps: chaos,
    })
      .use(orders)
      .handle(AddItem, async (m, ctx) => {
        entity<{ lines: string[] }>(ctx).state.lines.push(m.id);
        await ctx.publish(ItemAdded, m.body);
      });
    const causes: string[] = [];
    const billing = new Endpoint({ name: 'billing', transport }).handle(ItemAdded, async (m) => {
      causes.push(m.headers.causationId as string);
    });
    const frontend = new Endpoint({ name: 'frontend', transport });
    endpoints.push(orders, billing);
    await orders.start();
    await billing.start();

    const crashed = new Promise((resolve) => chaos.once('injection', resolve));
    const m = await frontend.send(AddItem, { orderId: 'o1', filling: 'Meat' }, { to: 'orders' });
    await crashed;
    const n = await frontend.send(
      AddItem,
      { orderId: 'o1', filling: 'Mushrooms' },
      { to: 'orders' },
    );
    for (const message of [n, m]) {
      await tracer.waitUntilSettled(message.headers.conversationId, { timeoutMs: 10_000 });
    }

    const order = (await documents.load('orders', 'o1')).value;
    expect(order?.lines.sort(), 'each AddItem applied once, neither lost').toEqual(
      [m.id, n.id].sort(),
    );
    expect(
      metadataOf<TransactionMetadata>(order)?.txId,
      'no transaction left pending',
    ).toBeUndefined();
    expect([...new Set(causes)].sort(), 'an ItemAdded for each').toEqual([m.id, n.id].sort());
    expect(await inbox.has(m.id)).toBe(true);
    expect(await inbox.has(n.id)).toBe(true);
  });
});

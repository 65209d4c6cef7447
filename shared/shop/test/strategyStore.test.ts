import {
  ConcurrencyError,
  capture,
  DocumentOutboxInbox,
  type Envelope,
  entity,
  MemoryInbox,
  type OutgoingOperation,
  PgDocumentStore,
  type StepHook,
} from '@pierogi/shared';
import { useIsolation } from '@pierogi/shared/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { Entities, type Order } from '../src/entities.ts';
import { strategyStore } from '../src/strategyStore.ts';

/** A library strategy's documents through the shop's `Entities`, on Postgres. */
describe('strategyStore: an EntityDocument stored flat, as the shop reads it', () => {
  const iso = useIsolation('strategy store');
  let orders: Entities<Order>;
  const steps: string[] = [];
  const recording: StepHook = {
    around(step, _message, work) {
      steps.push(step);
      return work();
    },
  };

  beforeAll(async () => {
    const documents = new PgDocumentStore<Order>(iso().pool());
    await documents.install();
    orders = new Entities<Order>(documents, 'orders', recording);
  });

  const order = (id: string): Order => ({ id, lines: ['Meat'], submitted: false });

  it('saves { state, outbox } as { ...state, outbox }, through the steps of the entities', async () => {
    steps.length = 0;
    const store = strategyStore(orders);
    const version = await store.save('orders', 'o-1', { state: order('o-1'), outbox: {} }, 0);
    expect(version).toBe(1);
    const { value } = await orders.load('o-1');
    expect(value).toEqual({ ...order('o-1'), outbox: {} });
    expect(steps).toEqual(['orders.save', 'orders.load']);
  });

  it('loads it back as { state, outbox }, with every field a strategy keeps beside the state', async () => {
    const store = strategyStore(orders);
    const outbox = { 'm-1': { operations: [] }, 'm-2': null };
    await store.save('orders', 'o-2', { state: order('o-2'), outbox, txId: 't', processed: [] }, 0);
    const { value, version } = await store.load('orders', 'o-2');
    expect(version).toBe(1);
    expect(value).toEqual({ state: order('o-2'), outbox, txId: 't', processed: [] });
  });

  it('a document the shop stored without a strategy loads as its state alone; none as undefined', async () => {
    await orders.save('o-3', order('o-3'), 0);
    const store = strategyStore(orders);
    expect(await store.load('orders', 'o-3')).toEqual({
      value: { state: order('o-3') },
      version: 1,
    });
    expect(await store.load('orders', 'missing')).toEqual({ value: undefined, version: 0 });
  });

  it('keeps optimistic concurrency: a save on a stale version fails', async () => {
    const store = strategyStore(orders);
    await store.save('orders', 'o-4', { state: order('o-4') }, 0);
    await store.save('orders', 'o-4', { state: order('o-4'), outbox: {} }, 1);
    await expect(store.save('orders', 'o-4', { state: order('o-4') }, 1)).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
  });

  it('refuses batches, which the entities cannot write', async () => {
    await expect(strategyStore(orders).batch('orders', [])).rejects.toThrow(/one document/);
  });

  it("under the library's outbox + inbox: the page reads an Order, its entry until the dispatch", async () => {
    const sent: OutgoingOperation[] = [];
    let pending: unknown;
    const strategy = new DocumentOutboxInbox<Order>({
      store: strategyStore(orders),
      inbox: new MemoryInbox(),
      locate: (message) => ({ partition: 'orders', id: orderIdOf(message) }),
      initial: (message) => ({ id: orderIdOf(message), lines: [], submitted: false }),
      steps: {
        async around(step, _message, work) {
          if (step === 'dispatch') pending = (await orders.load('o-5')).value;
          return work();
        },
      },
    }).dispatchTo(async (operations) => {
      sent.push(...operations);
    });
    const message = addItem('m-5', 'o-5');
    const operation: OutgoingOperation = {
      message: { ...message, id: 'm-6', type: 'ItemAdded' },
      destination: { kind: 'publish', type: 'ItemAdded' },
    };
    const handle = async () => {
      const delivery = { message, items: new Map<string | symbol, unknown>() };
      await strategy.handle(delivery, async () => {
        entity<Order>(delivery).state.lines.push('Meat');
        capture(delivery, operation);
      });
    };
    await handle();
    await handle(); // a copy: the inbox has it
    expect(pending).toEqual({ ...order('o-5'), outbox: { 'm-5': { operations: [operation] } } });
    expect((await orders.load('o-5')).value).toEqual({ ...order('o-5'), outbox: {} });
    expect(sent.map((op) => op.message.id)).toEqual(['m-6']);
  });
});

function orderIdOf(message: Envelope): string {
  return (message.body as { orderId: string }).orderId;
}

function addItem(id: string, orderId: string): Envelope {
  return {
    id,
    type: 'AddItem',
    body: { orderId, filling: 'Meat' },
    headers: {
      conversationId: 'c-1',
      causationId: undefined,
      sendingEndpoint: 'frontend',
      sentAt: new Date().toISOString(),
      deliveryCount: 1,
      custom: {},
    },
  };
}

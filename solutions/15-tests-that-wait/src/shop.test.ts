import type { MessageSession } from '@pierogi/shared';
import { AddItem, PRICES, RemoveItem } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { useShopUnderTest } from './testShop.ts';

/**
 * A test of the whole shop: a customer's command goes in at the frontend, and every endpoint
 * does its part. Each step waits until the shop is done with its command — everything the
 * command caused, on every endpoint — and no longer: no sleeping.
 *
 * Run it: `pnpm -C solutions/15-tests-that-wait test`; under chaos, with `CHAOS_SEED=1` (or 2,
 * 3…) in front. The repository's `pnpm test` runs it too, on a quiet shop.
 */
describe('the shop', () => {
  const shop = useShopUnderTest();

  /**
   * Sends a command as the frontend would, and waits until nothing of its conversation is in
   * flight. On the deadline the tracer throws, listing what is still pending: never a quiet
   * timeout followed by assertions on a shop that is not done.
   */
  async function sendAndWait(
    send: (frontend: MessageSession) => Promise<{ headers: { conversationId: string } }>,
  ): Promise<void> {
    const sent = await send(shop().endpoints.frontend);
    const settled = await shop().tracer.waitUntilSettled(sent.headers.conversationId, {
      timeoutMs: 10_000,
    });
    // Settled also means "given up on": a message in the error queue is not a success.
    expect(settled.failed, 'messages of the conversation that went to the error queue').toEqual([]);
  }

  async function firstItems(): Promise<number> {
    const { value } = await shop().marketing.load('first-items');
    return value?.counts.Meat ?? 0;
  }

  it('a Meat added to a new order is in the order, on the bill, and counted by marketing', async () => {
    const orderId = 'one-meat';
    const counted = await firstItems();

    await sendAndWait((frontend) => frontend.send(AddItem, { orderId, filling: 'Meat' }));

    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    expect(order?.lines).toEqual(['Meat']);
    expect(bill?.total).toBe(PRICES.Meat);
    expect((await firstItems()) - counted).toBe(1);
  });

  it('a Meat added and then removed leaves an empty order and a bill of nothing', async () => {
    const orderId = 'meat-removed';

    await sendAndWait((frontend) => frontend.send(AddItem, { orderId, filling: 'Meat' }));
    await sendAndWait((frontend) => frontend.send(RemoveItem, { orderId, filling: 'Meat' }));

    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    expect(order?.lines).toEqual([]);
    expect({ total: bill?.total, items: bill?.items }).toEqual({ total: 0, items: 0 });
  });
});

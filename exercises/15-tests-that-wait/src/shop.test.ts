import { AddItem, PRICES, RemoveItem } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { useShopUnderTest } from './testShop.ts';

/**
 * A test of the whole shop: a customer's command goes in at the frontend, and every endpoint
 * does its part. It passes on my machine.
 *
 * Run it: `pnpm -C exercises/15-tests-that-wait test`; under chaos, with `CHAOS_SEED=1` (or 2,
 * 3…) in front.
 */
describe('the shop', () => {
  const shop = useShopUnderTest();

  // 🤔 A second: plenty on my machine, where the whole shop answers in milliseconds. On yours? In CI?
  // Under the chaos of `CHAOS_SEED=1`?
  const settleTime = () => new Promise((resolve) => setTimeout(resolve, 1_000));

  async function firstItems(): Promise<number> {
    const { value } = await shop().marketing.load('first-items');
    return value?.counts.Meat ?? 0;
  }

  it('a Meat added to a new order is in the order, on the bill, and counted by marketing', async () => {
    const orderId = 'one-meat';
    const counted = await firstItems();

    // 👉 Wait until the shop is done with this AddItem — everything it caused, on every
    // endpoint — instead of sleeping: `send` answers with the message it sent, and its headers
    // name its conversation; `shop().tracer` knows when a conversation has settled.
    await shop().endpoints.frontend.send(AddItem, { orderId, filling: 'Meat' });
    await settleTime();

    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    expect(order?.lines).toEqual(['Meat']);
    expect(bill?.total).toBe(PRICES.Meat);
    expect((await firstItems()) - counted).toBe(1);
  });

  it('a Meat added and then removed leaves an empty order and a bill of nothing', async () => {
    const orderId = 'meat-removed';

    // 👉 The same for each command.
    await shop().endpoints.frontend.send(AddItem, { orderId, filling: 'Meat' });
    await settleTime();
    await shop().endpoints.frontend.send(RemoveItem, { orderId, filling: 'Meat' });
    await settleTime();

    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    expect(order?.lines).toEqual([]);
    expect({ total: bill?.total, items: bill?.items }).toEqual({ total: 0, items: 0 });
  });
});

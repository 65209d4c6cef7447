import { waitFor } from '@pierogi/shared/testing';
import { AddItem, type Filling, SubmitOrder } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { expectStruck, fileToOpen, firstItemCount, sendAndSettle, useShop } from './harness.ts';

const ORDERS = fileToOpen('src/orders.ts');

describe('11 state-derived messages', () => {
  const shop = useShop();

  const counted = (filling: Filling) => firstItemCount(shop(), filling);

  /** Once everything has settled, the order has nothing left to publish. */
  const expectOutboxEmpty = async (orderId: string) => {
    const { value } = await shop().orders.load(orderId);
    const outbox = (value as { outbox?: unknown[] } | undefined)?.outbox ?? [];
    expect(
      outbox,
      `everything has been published, and order "${orderId}" still holds ${outbox.length} event(s) in its outbox: every later message for it publishes them again. Open ${ORDERS}: once the events are out, empty the outbox and store the order`,
    ).toEqual([]);
  };

  it('a first item whose store timed out is counted, though another item got in meanwhile', async () => {
    // The Strawberry is stored, then the answer times out: orders sees a failure and retries.
    const rule = shop().chaos.add({
      kind: 'timeout',
      step: 'orders.save',
      field: { path: 'filling', equals: 'Strawberry' },
      times: 1,
      delayMs: 1_000,
    });
    const before = { Strawberry: await counted('Strawberry'), Meat: await counted('Meat') };
    const strawberry = await shop().endpoints.frontend.send(AddItem, {
      orderId: 'first',
      filling: 'Strawberry',
    });
    // While orders waits for that answer, the customer adds a Meat: the retry finds both.
    await waitFor(
      async () => (await shop().orders.load('first')).value?.lines.includes('Strawberry') ?? false,
      { what: 'the Strawberry stored' },
    );
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'first', filling: 'Meat' }));
    await shop().tracer.waitUntilSettled(strawberry.headers.conversationId, { timeoutMs: 15_000 });
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load('first');
    expect(order?.lines, 'the order has its Strawberry and its Meat').toEqual([
      'Strawberry',
      'Meat',
    ]);
    expect(
      (await counted('Strawberry')) - before.Strawberry,
      `the order started with a Strawberry and marketing never heard of it: the attempt that stored it failed before publishing FirstItemAdded, and the retry could not tell from the order (it has a Meat now) that the Strawberry was the first. Open ${ORDERS}: store the events with the change, publish them after`,
    ).toBe(1);
    expect((await counted('Meat')) - before.Meat, 'the Meat was not the first item').toBe(0);
    await expectOutboxEmpty('first');
  });

  it('a second portion whose store timed out is not counted as a first item', async () => {
    const meat = { orderId: 'second', filling: 'Meat' } as const;
    const before = await counted('Meat');
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    const rule = shop().chaos.add({
      kind: 'timeout',
      step: 'orders.save',
      messageType: 'AddItem',
      times: 1,
    });
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load('second');
    expect(order?.lines, 'the order has two portions of Meat').toEqual(['Meat', 'Meat']);
    const times = (await counted('Meat')) - before;
    expect(
      times,
      `one order that starts with Meat was counted ${times} times: the retry of the second Meat published a FirstItemAdded of its own. Open ${ORDERS}: publish the events decided when the change was stored, not new ones`,
    ).toBe(1);
    await expectOutboxEmpty('second');
  });

  it('without chaos, every message is handled at its first attempt', async () => {
    const sent = [];
    // One after the other: two at once would race for the order, a failure of another kind.
    for (const filling of ['Meat', 'Mushrooms'] as const) {
      const message = await shop().endpoints.frontend.send(AddItem, { orderId: 'calm', filling });
      await shop().tracer.waitUntilSettled(message.headers.conversationId, { timeoutMs: 15_000 });
      sent.push(message);
    }
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId: 'calm' }));
    const ids = new Set(sent.map((message) => message.id));
    const failed = shop()
      .log.recent()
      .filter((entry) => entry.kind === 'failed' && ids.has(entry.messageId ?? ''));
    expect(
      failed.map((entry) => entry.text),
      `with no chaos at all, orders failed an AddItem and the bus had to retry it: the retry then published what the first attempt had stored. Is the second save (emptying the outbox) made with the version the first save returned? Open ${ORDERS}`,
    ).toEqual([]);
    await expectOutboxEmpty('calm');
  });

  it('an OrderSubmitted the broker refused once still makes one invoice', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'invoice', filling: 'Meat' }));
    const rule = shop().chaos.add({
      kind: 'fail-publish',
      messageType: 'OrderSubmitted',
      times: 1,
    });
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId: 'invoice' }));
    expectStruck(shop(), rule);
    const { value: bill } = await shop().bills.load('invoice');
    expect(
      bill?.invoices ?? 0,
      `the order is submitted and billing sent ${bill?.invoices ?? 0} invoice(s) instead of 1: the OrderSubmitted the first attempt could not publish never went out again. Open ${ORDERS}: the SubmitOrder handler`,
    ).toBe(1);
    await expectOutboxEmpty('invoice');
  });
});

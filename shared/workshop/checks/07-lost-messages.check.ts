import { AddItem, RemoveItem, SubmitOrder } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { expectStruck, fileToOpen, sendAndSettle, useShop } from './harness.ts';

const ORDERS = fileToOpen('src/orders.ts');

/** Cents as the page shows them: 1200 → "12.00". */
const money = (cents: number | undefined) => ((cents ?? 0) / 100).toFixed(2);

describe('07 lost messages', () => {
  const shop = useShop();

  it('when the broker refuses an ItemAdded once, billing still charges for the item', async () => {
    const rule = shop().chaos.add({ kind: 'fail-publish', messageType: 'ItemAdded', times: 1 });
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'lost', filling: 'Meat' }));
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load('lost');
    const { value: bill } = await shop().bills.load('lost');
    expect(order?.lines, 'the order has its Meat').toEqual(['Meat']);
    expect(
      bill?.fillings ?? [],
      `the order has Meat but billing never heard of it: the first attempt stored the line and failed to publish; the retry saw Meat in the order and stopped. Open ${ORDERS}: publish ItemAdded on that path too`,
    ).toEqual(['Meat']);
  });

  it('when the broker refuses an ItemRemoved once, billing still takes the item off', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'removed', filling: 'Meat' }));
    const rule = shop().chaos.add({ kind: 'fail-publish', messageType: 'ItemRemoved', times: 1 });
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, { orderId: 'removed', filling: 'Meat' }));
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load('removed');
    const { value: bill } = await shop().bills.load('removed');
    expect(order?.lines, 'the Meat is off the order').toEqual([]);
    expect(
      bill?.total,
      `the Meat is off the order but the bill says ${money(bill?.total)} instead of 0.00: the retry of RemoveItem found the Meat gone and stopped. Open ${ORDERS}: the RemoveItem handler has the same duplicate path`,
    ).toBe(0);
  });

  it('when the broker refuses an OrderSubmitted once, billing still sends the invoice', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'invoice', filling: 'Meat' }));
    const rule = shop().chaos.add({
      kind: 'fail-publish',
      messageType: 'OrderSubmitted',
      times: 1,
    });
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId: 'invoice' }));
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load('invoice');
    const { value: bill } = await shop().bills.load('invoice');
    expect(order?.submitted, 'the order is submitted').toBe(true);
    expect(
      bill?.invoices ?? 0,
      `the order is submitted but billing sent ${bill?.invoices ?? 0} invoice(s) instead of 1: the retry of SubmitOrder found the order submitted and stopped. Open ${ORDERS}: the SubmitOrder handler has the same duplicate path`,
    ).toBe(1);
  });

  it('a real duplicate still adds nothing', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'dup', filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'dup', filling: 'Meat' }));
    const { value: order } = await shop().orders.load('dup');
    const { value: bill } = await shop().bills.load('dup');
    expect(order?.lines, 'one Meat: the second AddItem asked for what the order has').toEqual([
      'Meat',
    ]);
    expect(
      bill?.total,
      `billing charged ${money(bill?.total)} instead of 12.00 for one Meat: the ItemAdded published again must not be charged again. Open ${fileToOpen('src/billing.ts')}`,
    ).toBe(1_200);
  });
});

import { AddItem, RemoveItem } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { fileToOpen, sendAndSettle, useShop } from './harness.ts';

const ORDERS = fileToOpen('src/orders.ts');

describe('07 lost messages', () => {
  const shop = useShop();

  it('when the broker refuses an ItemAdded once, billing still charges for the item', async () => {
    shop().chaos.add({ kind: 'fail-publish', messageType: 'ItemAdded', times: 1 });
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'lost', filling: 'Meat' }));
    const { value: order } = await shop().orders.load('lost');
    const { value: bill } = await shop().bills.load('lost');
    expect(order?.lines, 'the order has its Meat').toEqual(['Meat']);
    expect(
      bill?.fillings ?? [],
      `the order has Meat but billing never heard of it: the first attempt stored the line and failed to publish; the retry saw Meat in the order and stopped. Open ${ORDERS}: publish ItemAdded on that path too.`,
    ).toEqual(['Meat']);
  });

  it('when the broker refuses an ItemRemoved once, billing still takes the item off', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'removed', filling: 'Meat' }));
    shop().chaos.add({ kind: 'fail-publish', messageType: 'ItemRemoved', times: 1 });
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, { orderId: 'removed', filling: 'Meat' }));
    const { value: order } = await shop().orders.load('removed');
    const { value: bill } = await shop().bills.load('removed');
    expect(order?.lines, 'the Meat is off the order').toEqual([]);
    expect(
      bill?.total,
      `the Meat is off the order but still on the bill: the retry of RemoveItem found it gone and stopped. Open ${ORDERS}: the RemoveItem handler has the same duplicate path.`,
    ).toBe(0);
  });

  it('a real duplicate still adds nothing', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'dup', filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'dup', filling: 'Meat' }));
    const { value: order } = await shop().orders.load('dup');
    const { value: bill } = await shop().bills.load('dup');
    expect(order?.lines).toEqual(['Meat']);
    expect(bill?.total).toBe(1_200);
  });
});

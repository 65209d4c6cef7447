import { AddItem } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { fileToOpen, sendAndSettle, useShop } from './harness.ts';

const ORDERS = fileToOpen('src/orders.ts');

describe('04 receiver-side duplication', () => {
  const shop = useShop();

  it('an AddItem handled twice (the process died before the ack) leaves one Meat line', async () => {
    shop().chaos.add({ kind: 'crash', step: 'ack', messageType: 'AddItem', times: 1 });
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'again', filling: 'Meat' }));
    const { value: order } = await shop().orders.load('again');
    expect(
      order?.lines,
      `the handler ran twice for one AddItem (it crashed after handling, before the ack, so the broker delivered it again) and the order got two Meat lines. Open ${ORDERS}: a second AddItem for a filling the order has already changes nothing`,
    ).toEqual(['Meat']);
  });

  it('billing charges Meat once for that order', async () => {
    const { value: bill } = await shop().bills.load('again');
    expect(bill?.total, `billing charged ${bill?.total} cents for one Meat (12.00)`).toBe(1_200);
  });

  it('different fillings still make different lines', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'two', filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'two', filling: 'Strawberry' }));
    const { value: order } = await shop().orders.load('two');
    expect(order?.lines).toEqual(['Meat', 'Strawberry']);
  });
});

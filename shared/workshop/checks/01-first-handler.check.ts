import { AddItem } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { fileToOpen, sendAndSettle, useShop } from './harness.ts';

const ORDERS = fileToOpen('src/orders.ts');

describe('01 first handler', () => {
  const shop = useShop();

  it('AddItem stores the order with a line for the filling', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'o-1', filling: 'Meat' }));
    const { value: order } = await shop().orders.load('o-1');
    expect(order, `no order o-1 was stored: open ${ORDERS} and save the order`).toBeDefined();
    expect(order?.lines, `order o-1 should have one Meat line (${ORDERS})`).toEqual(['Meat']);
  });

  it('each AddItem adds a line, in the order they arrive', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'o-2', filling: 'Mushrooms' }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'o-2', filling: 'Strawberry' }));
    const { value: order } = await shop().orders.load('o-2');
    expect(order?.lines, `order o-2 should keep both lines (${ORDERS})`).toEqual([
      'Mushrooms',
      'Strawberry',
    ]);
  });

  it('billing hears about each item: ItemAdded is published', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'o-3', filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'o-3', filling: 'SwissCheese' }));
    const { value: bill } = await shop().bills.load('o-3');
    expect(
      bill?.total,
      `billing should charge 12.00 + 11.00 for o-3: does ${ORDERS} publish ItemAdded?`,
    ).toBe(2_300);
  });
});

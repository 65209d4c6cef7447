import { AddItem } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { fileToOpen, sendAndSettle, useShop } from './harness.ts';

const ORDERS = fileToOpen('src/orders.ts');

describe('06 ghost messages', () => {
  const shop = useShop();

  it('when the database cannot store a Strawberry, billing does not charge for it', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'ghost', filling: 'Meat' }));
    // Every attempt to store an order with Strawberry fails: the message ends in the error queue.
    shop().chaos.add({
      kind: 'fail-commit',
      step: 'orders.save',
      field: { path: 'filling', equals: 'Strawberry' },
    });
    await sendAndSettle(shop(), (f) =>
      f.send(AddItem, { orderId: 'ghost', filling: 'Strawberry' }),
    );
    const { value: order } = await shop().orders.load('ghost');
    const { value: bill } = await shop().bills.load('ghost');
    expect(order?.lines, 'the order could not store Strawberry').toEqual(['Meat']);
    expect(
      bill?.fillings,
      `billing charged for a Strawberry the order does not have: ItemAdded left before the order was stored (a ghost message). Open ${ORDERS}: store first, then publish`,
    ).toEqual(['Meat']);
  });
});

import { randomUUID } from 'node:crypto';
import { AddItem, RemoveItem, SubmitOrder } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { expectStruck, fileToOpen, sendAndSettle, useShop } from './harness.ts';

const ORDERS = fileToOpen('src/orders.ts');

/** Cents as the page shows them: 1200 → "12.00". */
const money = (cents: number | undefined) => ((cents ?? 0) / 100).toFixed(2);

describe('10 deterministic ids', () => {
  const shop = useShop();

  it('an AddItem handled twice (the process died before the ack) is charged once', async () => {
    const rule = shop().chaos.add({ kind: 'crash', step: 'ack', messageType: 'AddItem', times: 1 });
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'again', filling: 'Meat' }));
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load('again');
    const { value: bill } = await shop().bills.load('again');
    expect(order?.lines, 'the order has one Meat').toEqual(['Meat']);
    expect(
      bill?.total,
      `one Meat, charged ${money(bill?.total)} instead of 12.00: the second attempt at the AddItem published ItemAdded again with a new message id, and billing took it for a new event. Open ${ORDERS}: give the ItemAdded the same id on every attempt`,
    ).toBe(1_200);
  });

  it('a late copy of an AddItem, after its RemoveItem, charges nothing', async () => {
    const meat = { orderId: 'late-add', filling: 'Meat' } as const;
    const id = randomUUID();
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat, { id }));
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, meat));
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat, { id })); // the late copy
    const { value: order } = await shop().orders.load('late-add');
    const { value: bill } = await shop().bills.load('late-add');
    expect(order?.lines, 'the Meat is off the order').toEqual([]);
    expect(
      bill?.total,
      `the Meat is off the order, and billing charged ${money(bill?.total)} instead of 0.00: for the late copy of the AddItem, orders published ItemAdded again with a new id. Open ${ORDERS}: the same AddItem must always publish the same ItemAdded id`,
    ).toBe(0);
  });

  it('a RemoveItem handled twice takes the Meat off the bill once', async () => {
    const meat = { orderId: 'removed', filling: 'Meat' } as const;
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    const rule = shop().chaos.add({
      kind: 'crash',
      step: 'ack',
      messageType: 'RemoveItem',
      times: 1,
    });
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, meat));
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load('removed');
    const { value: bill } = await shop().bills.load('removed');
    expect(order?.lines, 'one portion of Meat is left').toEqual(['Meat']);
    expect(
      bill?.total,
      `one portion of Meat is left and the bill says ${money(bill?.total)} instead of 12.00: the RemoveItem, handled twice, published ItemRemoved twice with two ids. Open ${ORDERS}: ItemRemoved needs a deterministic id too`,
    ).toBe(1_200);
  });

  it('a SubmitOrder handled twice sends one invoice', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'invoice', filling: 'Meat' }));
    const rule = shop().chaos.add({
      kind: 'crash',
      step: 'ack',
      messageType: 'SubmitOrder',
      times: 1,
    });
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId: 'invoice' }));
    expectStruck(shop(), rule);
    const { value: bill } = await shop().bills.load('invoice');
    expect(
      bill?.invoices ?? 0,
      `one SubmitOrder, handled twice because the process died before the ack, made ${bill?.invoices ?? 0} invoice(s) instead of 1: it published OrderSubmitted twice with two ids. Open ${ORDERS}: OrderSubmitted needs a deterministic id too`,
    ).toBe(1);
  });
});

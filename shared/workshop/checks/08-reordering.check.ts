import { randomUUID } from 'node:crypto';
import { AddItem, RemoveItem, SubmitOrder } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { expectStruck, fileToOpen, sendAndSettle, useShop } from './harness.ts';

const ORDERS = fileToOpen('src/orders.ts');

describe('08 re-ordering', () => {
  const shop = useShop();

  it('a late copy of an AddItem, after its RemoveItem, does not put the Meat back', async () => {
    const meat = { orderId: 'late-add', filling: 'Meat' } as const;
    const id = randomUUID();
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat, { id }));
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, meat));
    // The same AddItem again, late: a copy the broker redelivered, or a sender's retry.
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat, { id }));
    const { value: order } = await shop().orders.load('late-add');
    expect(
      order?.lines,
      `the customer added Meat and removed it, and a late copy of the AddItem (same message id) put it back: with no Meat in the order, it did not look like a duplicate. Open ${ORDERS}: recognise a copy by its message id, not by the lines`,
    ).toEqual([]);
  });

  it('a second Meat is one more portion, not a duplicate', async () => {
    const meat = { orderId: 'two-portions', filling: 'Meat' } as const;
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    const { value: order } = await shop().orders.load('two-portions');
    expect(
      order?.lines,
      `two AddItems (two clicks, two message ids) for Meat made ${order?.lines.length ?? 0} line(s): the second was dropped as a duplicate because Meat was in the order. Open ${ORDERS}: only a message applied already is a duplicate`,
    ).toEqual(['Meat', 'Meat']);
  });

  it('a RemoveItem takes off one portion of two', async () => {
    const meat = { orderId: 'one-of-two', filling: 'Meat' } as const;
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    const { value: before } = await shop().orders.load('one-of-two');
    expect(
      before?.lines,
      `two AddItems (two message ids) for Meat made ${JSON.stringify(before?.lines ?? [])} instead of two portions. Open ${ORDERS}: only a message applied already is a duplicate`,
    ).toEqual(['Meat', 'Meat']);
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, meat));
    const { value: order } = await shop().orders.load('one-of-two');
    expect(
      order?.lines,
      `one RemoveItem left ${JSON.stringify(order?.lines ?? [])} of two portions of Meat instead of one. Open ${ORDERS}: a RemoveItem takes off one portion, not every line of its filling`,
    ).toEqual(['Meat']);
  });

  it('a late copy of a RemoveItem, after the Meat was added again, does not take it off', async () => {
    const meat = { orderId: 'late-remove', filling: 'Meat' } as const;
    const id = randomUUID();
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, meat, { id }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat)); // the customer wants it after all
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, meat, { id })); // the late copy
    const { value: order } = await shop().orders.load('late-remove');
    expect(
      order?.lines,
      `a late copy of the RemoveItem (same message id) took off the Meat the customer added again. Open ${ORDERS}: the RemoveItem handler needs the same identity check`,
    ).toEqual(['Meat']);
  });

  it('an AddItem handled twice (the process died before the ack) adds one portion', async () => {
    const rule = shop().chaos.add({ kind: 'crash', step: 'ack', messageType: 'AddItem', times: 1 });
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'again', filling: 'Meat' }));
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load('again');
    expect(
      order?.lines,
      `one AddItem, handled twice because the process died before the ack, left ${JSON.stringify(order?.lines ?? [])} in the order instead of one Meat. Open ${ORDERS}: an AddItem whose id is in order.processed is a copy`,
    ).toEqual(['Meat']);
  });

  it('a second SubmitOrder (another tab) sends no second invoice', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'two-tabs', filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId: 'two-tabs' }));
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId: 'two-tabs' }));
    const { value: bill } = await shop().bills.load('two-tabs');
    expect(
      bill?.invoices ?? 0,
      `two SubmitOrders (two tabs, two message ids) for one order made ${bill?.invoices ?? 0} invoice(s) instead of 1: the second found the order submitted, took itself for a copy and published OrderSubmitted again. Open ${ORDERS}: only a copy of the SubmitOrder that submitted the order is a duplicate`,
    ).toBe(1);
  });
});

import { randomUUID } from 'node:crypto';
import { AddItem, type Filling, ItemAdded, ItemRemoved, SubmitOrder } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { expectStruck, fileToOpen, sendAndSettle, useShop } from './harness.ts';

const BILLING = fileToOpen('src/billing.ts');

/** Cents as the page shows them: 1200 → "12.00". */
const money = (cents: number | undefined) => ((cents ?? 0) / 100).toFixed(2);

describe('09 identity-based deduplication', () => {
  const shop = useShop();

  /** An event as billing receives it, in the order the check chooses: orders publishes it. */
  const deliver = (
    type: typeof ItemAdded | typeof ItemRemoved,
    orderId: string,
    options: { id?: string; filling?: Filling } = {},
  ) =>
    sendAndSettle(shop(), () =>
      shop().endpoints.orders.publish(
        type,
        { orderId, filling: options.filling ?? 'Meat' },
        options.id ? { id: options.id } : {},
      ),
    );

  it('an ItemRemoved that overtakes its ItemAdded leaves the bill at 0.00', async () => {
    await deliver(ItemRemoved, 'overtaken');
    await deliver(ItemAdded, 'overtaken');
    const { value: bill } = await shop().bills.load('overtaken');
    expect(
      bill?.total,
      `billing heard "Meat removed" before "Meat added" and charged ${money(bill?.total)} instead of 0.00 for a Meat that is not in the order: it dropped the ItemRemoved because no Meat was charged yet. Open ${BILLING}: apply each event once, whatever came before it`,
    ).toBe(0);
  });

  it('a late copy of an ItemAdded, after its ItemRemoved, charges nothing', async () => {
    const id = randomUUID();
    await deliver(ItemAdded, 'late-copy', { id });
    await deliver(ItemRemoved, 'late-copy');
    await deliver(ItemAdded, 'late-copy', { id }); // the broker delivers it again, late
    const { value: bill } = await shop().bills.load('late-copy');
    expect(
      bill?.total,
      `a late copy of an ItemAdded (same message id) charged the Meat again after it was removed: ${money(bill?.total)} instead of 0.00. With no Meat charged, it did not look like a duplicate. Open ${BILLING}: recognise an event by its message id`,
    ).toBe(0);
  });

  it('two portions of Meat are charged twice', async () => {
    const meat = { orderId: 'two-portions', filling: 'Meat' } as const;
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    await sendAndSettle(shop(), (f) => f.send(AddItem, meat));
    const { value: order } = await shop().orders.load('two-portions');
    const { value: bill } = await shop().bills.load('two-portions');
    expect(order?.lines, 'the order has two portions of Meat').toEqual(['Meat', 'Meat']);
    expect(
      bill?.total,
      `the order has two portions of Meat and billing charged ${money(bill?.total)} instead of 24.00: it took the second ItemAdded for a duplicate because Meat was charged already. Open ${BILLING}: only an event applied already is a duplicate`,
    ).toBe(2_400);
  });

  it('an ItemAdded delivered twice is charged once', async () => {
    const rule = shop().chaos.add({ kind: 'duplicate', messageType: 'ItemAdded', times: 1 });
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'twice', filling: 'Meat' }));
    expectStruck(shop(), rule);
    const { value: bill } = await shop().bills.load('twice');
    expect(
      bill?.total,
      `one ItemAdded, delivered twice with one id, was charged ${money(bill?.total)} instead of 12.00. Open ${BILLING}: remember the event's id in the same save as the total`,
    ).toBe(1_200);
  });

  it('an ItemRemoved delivered twice takes one portion off', async () => {
    const id = randomUUID();
    await deliver(ItemAdded, 'removed-twice');
    await deliver(ItemAdded, 'removed-twice'); // a second portion: another event, another id
    await deliver(ItemRemoved, 'removed-twice', { id });
    await deliver(ItemRemoved, 'removed-twice', { id }); // the broker delivers it again
    const { value: bill } = await shop().bills.load('removed-twice');
    expect(
      bill?.total,
      `billing got two ItemAdded of Meat (two ids) and one ItemRemoved of Meat twice (one id, a copy): the bill says ${money(bill?.total)} instead of 12.00. Open ${BILLING}: apply every event once — remember the ItemRemoved's id too, in the same save as the total`,
    ).toBe(1_200);
  });

  it('an OrderSubmitted delivered twice sends one invoice', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'invoice', filling: 'Meat' }));
    const rule = shop().chaos.add({ kind: 'duplicate', messageType: 'OrderSubmitted', times: 1 });
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId: 'invoice' }));
    expectStruck(shop(), rule);
    const { value: bill } = await shop().bills.load('invoice');
    expect(
      bill?.invoices ?? 0,
      `one OrderSubmitted, delivered twice with one id, made ${bill?.invoices ?? 0} invoice(s) instead of 1. Open ${BILLING}: the OrderSubmitted handler needs the same identity check`,
    ).toBe(1);
  });
});

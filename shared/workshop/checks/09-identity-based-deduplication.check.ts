import { randomUUID } from 'node:crypto';
import { AddItem, ItemAdded, ItemRemoved } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { fileToOpen, sendAndSettle, useShop } from './harness.ts';

const BILLING = fileToOpen('src/billing.ts');

describe('09 identity-based deduplication', () => {
  const shop = useShop();

  /** An event as billing receives it, in the order the check chooses: orders publishes it. */
  const deliver = (type: typeof ItemAdded | typeof ItemRemoved, orderId: string, id?: string) =>
    sendAndSettle(shop(), () =>
      shop().endpoints.orders.publish(type, { orderId, filling: 'Meat' }, id ? { id } : {}),
    );

  it('an ItemRemoved that overtakes its ItemAdded leaves the bill at 0.00', async () => {
    await deliver(ItemRemoved, 'overtaken');
    await deliver(ItemAdded, 'overtaken');
    const { value: bill } = await shop().bills.load('overtaken');
    expect(
      bill?.total,
      `billing heard "Meat removed" before "Meat added" and charged ${bill?.total} cents for a Meat that is not in the order: it dropped the ItemRemoved because no Meat was charged yet. Open ${BILLING}: apply each event once, whatever came before it.`,
    ).toBe(0);
  });

  it('a late copy of an ItemAdded, after its ItemRemoved, charges nothing', async () => {
    const id = randomUUID();
    await deliver(ItemAdded, 'late-copy', id);
    await deliver(ItemRemoved, 'late-copy');
    await deliver(ItemAdded, 'late-copy', id); // the broker delivers it again, late
    const { value: bill } = await shop().bills.load('late-copy');
    expect(
      bill?.total,
      `a late copy of an ItemAdded (same message id) charged the Meat again after it was removed: with no Meat charged, it did not look like a duplicate. Open ${BILLING}: recognise an event by its message id.`,
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
      `the order has two portions of Meat (24.00) and billing charged ${bill?.total} cents: it took the second ItemAdded for a duplicate because Meat was charged already. Open ${BILLING}: only an event applied already is a duplicate.`,
    ).toBe(2_400);
  });

  it('an ItemAdded delivered twice is charged once', async () => {
    shop().chaos.add({ kind: 'duplicate', messageType: 'ItemAdded', times: 1 });
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'twice', filling: 'Meat' }));
    const { value: bill } = await shop().bills.load('twice');
    expect(
      bill?.total,
      `one ItemAdded, delivered twice with one id, was charged ${bill?.total} cents (12.00). Open ${BILLING}: remember the event's id in the same save as the total.`,
    ).toBe(1_200);
  });
});

import { AddItem, SubmitOrder } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { fileToOpen, sendAndSettle, useShop } from './harness.ts';

const ORDERS = fileToOpen('src/orders.ts');

describe('02 double submit', () => {
  const shop = useShop();

  it('an order submitted once gets one invoice', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'once', filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId: 'once' }));
    const { value: bill } = await shop().bills.load('once');
    expect(bill?.invoices, 'billing should have sent one invoice for order "once"').toBe(1);
  });

  it('submitted from two tabs at the same moment, an order still gets one invoice', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'twice', filling: 'Meat' }));
    // Both copies load the order before either stores it: the store holds each save a moment.
    shop().chaos.add({
      kind: 'delay',
      step: 'orders.save',
      messageType: 'SubmitOrder',
      delayMs: 300,
      times: 2,
    });
    await Promise.all([
      sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId: 'twice' })),
      sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId: 'twice' })),
    ]);
    const { value: bill } = await shop().bills.load('twice');
    expect(
      bill?.invoices,
      `two SubmitOrder handled at once both saw "not submitted yet", and each published OrderSubmitted: the customer got ${bill?.invoices} invoices. Open ${ORDERS}: store the order only if it is still the version you loaded`,
    ).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { fileToOpen, request, settle, useShop } from './harness.ts';

const FRONTEND = fileToOpen('src/frontend.ts');

describe('03 sync-async boundary', () => {
  const shop = useShop({ http: true });
  const addMeat = (orderId: string, key: string) =>
    request(shop(), 'POST', `/api/orders/${orderId}/items`, {
      body: { filling: 'Meat' },
      headers: { 'idempotency-key': key },
    });

  it('a request retried with the same idempotency-key adds one item', async () => {
    const first = await addMeat('retried', 'click-1');
    const retry = await addMeat('retried', 'click-1');
    await settle(shop(), first);
    await settle(shop(), retry);
    const { value: order } = await shop().orders.load('retried');
    expect(
      order?.lines,
      order
        ? `the browser retried one click and the order got ${order.lines.length} Meat lines: every retry sent a new AddItem. Open ${FRONTEND}`
        : `the browser sent one click twice and no AddItem reached orders: neither attempt sent one. Open ${FRONTEND}`,
    ).toEqual(['Meat']);
  });

  it('the retry gets the answer the first attempt got', async () => {
    const first = await addMeat('answer', 'click-2');
    const retry = await addMeat('answer', 'click-2');
    await settle(shop(), first);
    expect(
      retry.body.messageId,
      `the retry should be answered with the message the first attempt sent (${FRONTEND})`,
    ).toBe(first.body.messageId);
  });

  it('two clicks are two requests: two items', async () => {
    await settle(shop(), await addMeat('clicks', 'click-3'));
    await settle(shop(), await addMeat('clicks', 'click-4'));
    const { value: order } = await shop().orders.load('clicks');
    expect(order?.lines, 'two clicks, two different keys: two Meat lines').toEqual([
      'Meat',
      'Meat',
    ]);
  });

  it('when the first attempt could not send, the retry sends', async () => {
    shop().chaos.add({ kind: 'fail-publish', messageType: 'AddItem', times: 1 });
    const failed = await addMeat('unsent', 'click-5');
    expect(
      failed.status,
      'the broker refused the first attempt: the browser is told to retry',
    ).toBe(503);
    await settle(shop(), await addMeat('unsent', 'click-5'));
    const { value: order } = await shop().orders.load('unsent');
    expect(
      order?.lines,
      `the retry must send what the first attempt could not (${FRONTEND})`,
    ).toEqual(['Meat']);
  });
});

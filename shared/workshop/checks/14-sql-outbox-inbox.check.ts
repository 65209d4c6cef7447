import { waitFor } from '@pierogi/shared/testing';
import type { Filling } from '@pierogi/shop';
import { AddItem, PRICES, RemoveItem, SubmitOrder } from '@pierogi/shop';
import { afterEach, describe, expect, it } from 'vitest';
import {
  expectStruck,
  fileToOpen,
  firstItemCount,
  request,
  sendAndSettle,
  settle,
  useShop,
} from './harness.ts';

const ORDERS = fileToOpen('src/orders.ts');
const BILLING = fileToOpen('src/billing.ts');
const MARKETING = fileToOpen('src/marketing.ts');
const SQL_OUTBOX = fileToOpen('src/sqlOutbox.ts');

describe('14 SQL outbox and inbox', () => {
  const shop = useShop({ http: true });
  afterEach(() => shop().chaos.clear());

  const firstItems = (filling: Filling) => firstItemCount(shop(), filling);

  /** Adds `filling` to a new order `orderId` and returns what each endpoint made of it. */
  async function addFirst(orderId: string, filling: Filling) {
    const counted = await firstItems(filling);
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling }));
    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    return { lines: order?.lines, bill, counted: (await firstItems(filling)) - counted };
  }

  it('when the commit of an AddItem fails once, the item is added, billed and counted once', async () => {
    const rule = shop().chaos.add({
      kind: 'fail-commit',
      step: 'commit',
      messageType: 'AddItem',
      times: 1,
    });
    const { lines, bill, counted } = await addFirst('failed-commit', 'Meat');
    expectStruck(shop(), rule);
    expect(
      lines,
      `the order has ${JSON.stringify(lines)} for one AddItem: the first attempt saved the Meat outside the transaction, so the failed commit took back its inbox row and its messages but not the Meat; to the inbox the retry was a new message, and it added a second Meat. Billing charges one of them (only the retry's ItemAdded left), and marketing never hears that the order started with Meat (the retry found a line in the order already). Open ${ORDERS}: load and save the orders in the transaction of the message`,
    ).toEqual(['Meat']);
    expect(
      { total: bill?.total ?? 0, items: bill?.items ?? 0 },
      'one Meat in the order, one on the bill',
    ).toEqual({ total: PRICES.Meat, items: 1 });
    expect(counted, 'marketing counts the order once').toBe(1);
  });

  it('when the commit of a RemoveItem fails once, one portion comes off the order and the bill', async () => {
    const orderId = 'remove-commit';
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling: 'Meat' }));
    const rule = shop().chaos.add({
      kind: 'fail-commit',
      step: 'commit',
      messageType: 'RemoveItem',
      times: 1,
    });
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, { orderId, filling: 'Meat' }));
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    expect(
      order?.lines,
      `one RemoveItem took ${2 - (order?.lines.length ?? 0)} portions of Meat off the order: the first attempt saved the order outside the transaction, the failed commit did not take that back, and the retry removed another. Open ${ORDERS}: the RemoveItem handler too loads and saves in the transaction of the message`,
    ).toEqual(['Meat']);
    expect(
      { total: bill?.total ?? 0, items: bill?.items ?? 0 },
      'the bill has the portion the order has',
    ).toEqual({ total: PRICES.Meat, items: 1 });
  });

  it('when the commit of a SubmitOrder fails once, the order is submitted and invoiced once', async () => {
    const orderId = 'submit-commit';
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling: 'Meat' }));
    const rule = shop().chaos.add({
      kind: 'fail-commit',
      step: 'commit',
      messageType: 'SubmitOrder',
      times: 1,
    });
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId }));
    expectStruck(shop(), rule);
    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    expect(order?.submitted, 'the order is submitted').toBe(true);
    expect(
      bill?.invoices ?? 0,
      `the order is submitted and billing sent ${bill?.invoices ?? 0} invoice(s) instead of 1: the first attempt saved "submitted" outside the transaction, the failed commit took back its OrderSubmitted, and the retry found the order submitted already. Open ${ORDERS}: the SubmitOrder handler too loads and saves in the transaction of the message`,
    ).toBe(1);
  });

  it('when the commit of an ItemAdded fails once at billing, the item is charged once', async () => {
    const rule = shop().chaos.add({
      kind: 'fail-commit',
      step: 'commit',
      messageType: 'ItemAdded',
      times: 1,
    });
    const { bill } = await addFirst('billing-commit', 'Mushrooms');
    expectStruck(shop(), rule);
    expect(
      bill?.total,
      `billing charged the Mushrooms twice: the first attempt saved the bill outside the transaction, the failed commit took back only the inbox row, and the retry charged again. Open ${BILLING}: load and save the bills in the transaction of the message`,
    ).toBe(PRICES.Mushrooms);
    expect(bill?.items, 'one item on the bill').toBe(1);
  });

  it('when the commit of a FirstItemAdded fails once at marketing, the order is counted once', async () => {
    const rule = shop().chaos.add({
      kind: 'fail-commit',
      step: 'commit',
      messageType: 'FirstItemAdded',
      times: 1,
    });
    const { counted } = await addFirst('marketing-commit', 'SwissCheese');
    expectStruck(shop(), rule);
    expect(
      counted,
      `marketing counted the order ${counted} times: the first attempt saved the counts outside the transaction, the failed commit took back only the inbox row, and the retry counted again. Open ${MARKETING}: load and save in the transaction of the message`,
    ).toBe(1);
  });

  it('when the commit of an AddItem times out and none of its copies can send, its messages still leave once the broker is back', async () => {
    const orderId = 'timed-out-unsent';
    // The commit happens, and its answer is lost: the rows of ItemAdded and FirstItemAdded are
    // in the outbox, and the attempt fails before it could send them.
    const timeout = shop().chaos.add({
      kind: 'timeout',
      step: 'commit',
      messageType: 'AddItem',
      times: 1,
    });
    // Meanwhile the broker refuses every ItemAdded: each copy of the AddItem finds its inbox
    // row, tries to send the rows its first attempt left, fails, and in the end the AddItem
    // goes to the error queue. No copy will come again.
    const refused = shop().chaos.add({ kind: 'fail-publish', messageType: 'ItemAdded' });
    const before = await firstItems('Meat');
    const sent = await shop().endpoints.frontend.send(AddItem, { orderId, filling: 'Meat' });
    const settled = await shop().tracer.waitUntilSettled(sent.headers.conversationId, {
      timeoutMs: 15_000,
    });
    expectStruck(shop(), timeout);
    expectStruck(shop(), refused);
    expect(
      settled.failed.map((f) => `${f.type} at ${f.endpoint}`),
      'every copy of the AddItem failed to send its ItemAdded: it is in the error queue',
    ).toContain('AddItem at orders');
    expect((await shop().orders.load(orderId)).value?.lines, 'the commit did happen').toEqual([
      'Meat',
    ]);

    // The broker takes ItemAdded again. The rows wait in the outbox: who sends them now?
    shop().chaos.remove(refused);
    const billed = async () => ((await shop().bills.load(orderId)).value?.items ?? 0) > 0;
    const arrived = await waitFor(billed, { timeoutMs: 5_000, what: 'the bill' }).then(
      () => true,
      () => false,
    );
    expect(
      arrived,
      `the order has its Meat, and 5 s after the broker took ItemAdded again billing still has not heard of it: the ItemAdded is still a row in the outbox. The commit timed out before its attempt could send it; every copy of the AddItem found its inbox row and tried to send it, while the broker refused; then the AddItem went to the error queue, and no copy will come again unless a person sends it back. Open ${SQL_OUTBOX}: what sends rows that no copy of their message will come for?`,
    ).toBe(true);
    await shop().tracer.waitUntilSettled(sent.headers.conversationId, { timeoutMs: 15_000 });
    const { value: bill } = await shop().bills.load(orderId);
    expect({ total: bill?.total ?? 0, items: bill?.items ?? 0 }, 'the Meat is billed once').toEqual(
      { total: PRICES.Meat, items: 1 },
    );
    expect(
      (await firstItems('Meat')) - before,
      'marketing counts the order once (its inbox drops the FirstItemAdded each copy sent again)',
    ).toBe(1);
  });

  /**
   * What `SqlOutboxInbox` does by itself: these pass on the starting point too, since their
   * failures come before the handler or after the commit, where the handler's writes are done.
   */
  describe('the library at work (these pass before the fix too)', () => {
    it('a commit that happened but timed out: the retry finds the message in the inbox, once', async () => {
      const rule = shop().chaos.add({
        kind: 'timeout',
        step: 'commit',
        messageType: 'AddItem',
        times: 1,
      });
      const { lines, bill, counted } = await addFirst('timed-out', 'QuarkAndPotatoes');
      expectStruck(shop(), rule);
      expect(lines).toEqual(['QuarkAndPotatoes']);
      expect(bill?.total, 'billed once, after the retry sent what the commit stored').toBe(
        PRICES.QuarkAndPotatoes,
      );
      expect(counted).toBe(1);
    });

    it('duplicates of the AddItem and of its ItemAdded are dropped by the inboxes', async () => {
      const rules = ['AddItem', 'ItemAdded'].map((messageType) =>
        shop().chaos.add({ kind: 'duplicate', messageType, times: 1 }),
      );
      const { lines, bill, counted } = await addFirst('duplicated', 'Strawberry');
      for (const rule of rules) expectStruck(shop(), rule);
      expect(lines).toEqual(['Strawberry']);
      expect(bill?.total).toBe(PRICES.Strawberry);
      expect(counted).toBe(1);
    });

    it('messages that cannot leave after the commit are sent later, once', async () => {
      // The step after the commit fails (as if the broker refused the messages): the rows stay.
      const rule = shop().chaos.add({
        kind: 'fail-commit',
        step: 'after-commit',
        messageType: 'AddItem',
        times: 1,
      });
      const { lines, bill, counted } = await addFirst('dispatch-failed', 'Meat');
      expectStruck(shop(), rule);
      expect(lines).toEqual(['Meat']);
      expect(bill?.total, 'billed once, from the rows left in the outbox').toBe(PRICES.Meat);
      expect(counted).toBe(1);
    });

    it('an HTTP request retried late, after the next one, is the same command: dropped', async () => {
      const add = { body: { filling: 'Meat' }, headers: { 'idempotency-key': 'late-add' } };
      const first = await request(shop(), 'POST', '/api/orders/http-retry/items', add);
      await settle(shop(), first);
      const removed = await request(shop(), 'DELETE', '/api/orders/http-retry/items/Meat', {
        headers: { 'idempotency-key': 'remove' },
      });
      await settle(shop(), removed);
      const retried = await request(shop(), 'POST', '/api/orders/http-retry/items', add);
      await settle(shop(), retried);
      expect(retried.body, 'the retry is answered with the same command').toEqual(first.body);
      const { value: order } = await shop().orders.load('http-retry');
      const { value: bill } = await shop().bills.load('http-retry');
      expect(order?.lines, 'the Meat stays removed').toEqual([]);
      expect(bill?.total).toBe(0);
    });
  });
});

import { randomUUID } from 'node:crypto';
import { AddItem, RemoveItem, SubmitOrder } from '@pierogi/shop';
import { afterEach, describe, expect, it } from 'vitest';
import {
  expectOneMeat,
  expectStruck,
  fileToOpen,
  firstItemCount,
  oneMeatDespite,
  sendAndSettle,
  useShop,
} from './harness.ts';

const OUTBOX = fileToOpen('src/outbox.ts');

/**
 * The chaos of exercises 04–11, on every endpoint at once. The handlers have no deduplication of
 * their own: each scene ends with the exact order, bill and marketing count only if the outbox
 * middleware does its job.
 */
describe('12 generic outbox', () => {
  const shop = useShop();
  afterEach(() => shop().chaos.clear());

  it('without chaos, the shop adds, removes, submits, bills and counts', async () => {
    const before = await firstItemCount(shop());
    const since = shop().log.recent().at(-1)?.seq ?? 0;
    const orderId = 'plain';
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling: 'Strawberry' }));
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, { orderId, filling: 'Strawberry' }));
    await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId }));
    const copies = shop()
      .log.recent()
      .filter((entry) => entry.seq > since && entry.kind === 'duplicate');
    expect(
      copies.map((entry) => entry.text),
      `with no chaos at all, endpoints received copies of messages: each was sent twice. Is the second save (marking the entry null) made with the version the first save returned? With the version loaded it fails, and the attempt starts over and sends again. Open ${OUTBOX}`,
    ).toEqual([]);
    await expectOneMeat(shop(), {
      orderId: orderId,
      before: before,
      why: 'with no chaos at all',
      open: OUTBOX,
    });
    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    expect(order?.submitted, 'the order is submitted').toBe(true);
    expect(bill?.invoices, 'one invoice').toBe(1);
    const outbox = (order as { outbox?: Record<string, unknown> } | undefined)?.outbox;
    expect(
      Object.values(outbox ?? {}).filter((entry) => entry !== null),
      `messages left in the order's outbox: dispatch them, then mark the entry null. Open ${OUTBOX}`,
    ).toEqual([]);
  });

  it('a delivery repeated after a crash before its ack counts once, on every endpoint', async () => {
    const rules = ['AddItem', 'ItemAdded', 'FirstItemAdded'].map((messageType) =>
      shop().chaos.add({ kind: 'crash', step: 'ack', messageType, times: 1 }),
    );
    const before = await firstItemCount(shop());
    await sendAndSettle(shop(), (f) =>
      f.send(AddItem, { orderId: 'redelivered', filling: 'Meat' }),
    );
    for (const rule of rules) expectStruck(shop(), rule);
    await expectOneMeat(shop(), {
      orderId: 'redelivered',
      before: before,
      why: 'each endpoint handled its message twice (it crashed before the ack, the broker delivered it again); a message whose outbox entry is null is processed already',
      open: OUTBOX,
    });
  });

  it('every message sent twice, with one id: each counts once', async () => {
    await oneMeatDespite(shop(), {
      chaos: { kind: 'duplicate' },
      orderId: 'twice',
      why: 'every message arrived twice with one id, and the second copy changed something or sent something new; a message whose outbox entry is null is processed already',
      open: OUTBOX,
    });
  });

  it('a late copy of an AddItem, after the RemoveItem, adds nothing', async () => {
    const before = await firstItemCount(shop());
    const id = randomUUID();
    const orderId = 'late';
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling: 'Meat' }, { id }));
    await sendAndSettle(shop(), (f) => f.send(RemoveItem, { orderId, filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId, filling: 'Meat' }, { id }));
    const { value: order } = await shop().orders.load(orderId);
    const { value: bill } = await shop().bills.load(orderId);
    const why = `a copy of the first AddItem (id ${id}) came back after the RemoveItem and was applied again; its id is in the order's outbox`;
    expect(order?.lines, `the Meat is back in the order: ${why}. Open ${OUTBOX}.`).toEqual([]);
    expect({ total: bill?.total, items: bill?.items }, `the bill: ${why}. Open ${OUTBOX}.`).toEqual(
      { total: 0, items: 0 },
    );
    const counted = (await firstItemCount(shop())) - before;
    expect(counted, `marketing counted the order ${counted} times: ${why}.`).toBe(1);
  });

  it('a send fails while the handler runs: nothing is sent twice', async () => {
    // The handler's second send fails: the attempt stops halfway, and the bus retries it.
    await oneMeatDespite(shop(), {
      chaos: {
        kind: 'fail-publish',
        messageType: 'FirstItemAdded',
        times: 1,
      },
      orderId: 'refused',
      why: 'the ItemAdded had left before the FirstItemAdded failed, and the retry sent another one, with a new id; what the handler sends must wait until the attempt is stored',
      open: OUTBOX,
    });
  });

  it('a send fails after the commit: the messages still go out, once', async () => {
    // The state and its outbox entry are stored; sending them fails once; the retry finds them.
    const rule = shop().chaos.add({
      kind: 'fail-commit',
      step: 'dispatch',
      messageType: 'AddItem',
      times: 1,
    });
    const before = await firstItemCount(shop());
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'unsent', filling: 'Meat' }));
    expect(
      () => expectStruck(shop(), rule),
      `nothing was sent through the step 'dispatch': send the stored messages after the save, with shop.steps.around('dispatch', message, () => shop.endpoint.dispatch(messages)), so that the chaos monkey can fail that send. Open ${OUTBOX}`,
    ).not.toThrow();
    await expectOneMeat(shop(), {
      orderId: 'unsent',
      before: before,
      why: 'sending the stored messages failed once, after the save; the retry must find the list in the outbox entry and send it, with the same ids, before marking the entry null',
      open: OUTBOX,
    });
  });

  it('a store that times out after saving, on every endpoint: each message counts once', async () => {
    const rules = (['orders.save', 'bills.save', 'marketing.save'] as const).map((step) =>
      shop().chaos.add({ kind: 'timeout', step, times: 1, delayMs: 10 }),
    );
    const before = await firstItemCount(shop());
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'timeout', filling: 'Meat' }));
    for (const rule of rules) expectStruck(shop(), rule);
    await expectOneMeat(shop(), {
      orderId: 'timeout',
      before: before,
      why: 'each save went through, then failed to answer; from the outbox entry stored with the state, the retry knows the message is processed, and which messages to send if they may not be out yet',
      open: OUTBOX,
    });
  });

  it('when the order cannot be stored, nobody hears of the Strawberry', async () => {
    const before = await firstItemCount(shop());
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'ghost', filling: 'Meat' }));
    const rule = shop().chaos.add({
      kind: 'fail-commit',
      step: 'orders.save',
      field: { path: 'filling', equals: 'Strawberry' },
    });
    await sendAndSettle(shop(), (f) =>
      f.send(AddItem, { orderId: 'ghost', filling: 'Strawberry' }),
    );
    expectStruck(shop(), rule);
    await expectOneMeat(shop(), {
      orderId: 'ghost',
      before: before,
      why: 'every attempt to store the Strawberry failed, but its ItemAdded had left each time (ghost messages); send only what is stored',
      open: OUTBOX,
    });
  });
});

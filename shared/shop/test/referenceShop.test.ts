import { waitFor } from '@pierogi/shared/testing';
import { describe, expect, it } from 'vitest';
import { AddItem, ItemAdded, SubmitOrder } from '../src/contracts.ts';
import type { RunningShop } from '../src/runShop.ts';
import { useRunningShop } from './useRunningShop.ts';

/** The reference shop of Parts 1 and 2 (what `pnpm start` runs while it is the last solution). */
const REFERENCE = 'solutions/14-sql-outbox-inbox';

/**
 * The reference shop refuses what it cannot honour, on real servers: each refusal ends in the
 * error queue with its reason, and changes nothing.
 */
describe('the reference shop refuses what it cannot honour', () => {
  const { shop: running } = useRunningShop('reference shop', REFERENCE, {
    // Short retries: a message that keeps failing reaches the error queue in a moment.
    recoverability: { immediateRetries: 1, delayedRetriesMs: [20, 50] },
  });

  /** Waits until the error queue holds a message matching `match`, and returns it. */
  async function failedWith(match: (f: { type?: string; error: string }) => boolean) {
    let found: Awaited<ReturnType<NonNullable<RunningShop['failed']>['list']>>[number] | undefined;
    await waitFor(
      async () => {
        found = (await running().failed?.list())?.find(match);
        return found !== undefined;
      },
      { what: 'the refused message in the error queue' },
    );
    return found as NonNullable<typeof found>;
  }

  it('an AddItem that arrives after its order was submitted: refused at once, the order unchanged', async () => {
    const { frontend } = running().endpoints;
    const settle = async (send: () => Promise<{ headers: { conversationId: string } }>) =>
      running().tracer.waitUntilSettled((await send()).headers.conversationId);
    await settle(() => frontend.send(AddItem, { orderId: 'late', filling: 'Meat' }));
    await settle(() => frontend.send(SubmitOrder, { orderId: 'late' }));
    await frontend.send(AddItem, { orderId: 'late', filling: 'Strawberry' });

    const refused = await failedWith((f) => f.error.includes('order late'));
    expect(refused.reason).toBe('rejected');
    expect(refused.attempts, 'no retry can change it').toBe(1);
    expect(refused.error).toBe('order late is submitted: it takes no AddItem');
    expect((await running().orders.load('late')).value?.lines).toEqual(['Meat']);
    expect((await running().bills.load('late')).value).toMatchObject({ total: 1_200, invoices: 1 });
  });

  it('an ItemAdded about an order orders does not have: refused, no bill made', async () => {
    await running().endpoints.frontend.publish(ItemAdded, { orderId: 'ghost', filling: 'Meat' });
    const refused = await failedWith((f) => f.error.includes('order ghost'));
    expect(refused.reason).toBe('rejected');
    expect(refused.endpoint).toBe('billing');
    expect(refused.error).toBe('ItemAdded for order ghost, which orders does not have');
    expect((await running().bills.load('ghost')).value).toBeUndefined();
  });

  it('an order id the HTTP edge would refuse, sent straight to the queue: refused as invalid', async () => {
    await running().endpoints.frontend.dispatch([
      {
        message: {
          id: 'raw-1',
          type: 'AddItem',
          body: { orderId: '<img src=x onerror=alert(1)>', filling: 'Meat' },
          headers: {
            conversationId: 'raw',
            causationId: undefined,
            sendingEndpoint: 'outside',
            sentAt: new Date().toISOString(),
            deliveryCount: 0,
            custom: {},
          },
        },
        destination: { kind: 'send', endpoint: 'orders' },
      },
    ]);
    const refused = await failedWith((f) => f.error.includes('orderId must be'));
    expect(refused.type).toBe('AddItem');
    expect((await running().failed?.get(refused.id))?.reason).toBe('invalid-body');
  });

  it('an invoice waits for an item still on its way; sent back from the error queue, both end right', async () => {
    const { frontend } = running().endpoints;
    const rule = running().chaos.add({
      kind: 'fail-commit',
      step: 'bills.save',
      field: { path: 'filling', equals: 'Strawberry' },
    });
    const added = await frontend.send(AddItem, { orderId: 'waits', filling: 'Meat' });
    await running().tracer.waitUntilSettled(added.headers.conversationId);
    await frontend.send(AddItem, { orderId: 'waits', filling: 'Strawberry' });
    const stuck = await failedWith((f) => f.type === 'ItemAdded' && f.error.includes('bills.save'));
    await frontend.send(SubmitOrder, { orderId: 'waits' });
    // Billing has one item of two: the invoice is not made; OrderSubmitted gives up in turn.
    const waiting = await failedWith((f) => f.type === 'OrderSubmitted');
    expect(waiting.error).toBe(
      'order waits has 2 item(s) and its bill 1 so far: invoiced once the rest arrive',
    );
    expect((await running().bills.load('waits')).value?.invoices).toBeUndefined();

    running().chaos.remove(rule); // the fault is repaired; both are sent back, oldest first
    expect(await running().failed?.retry(stuck.id)).toBe(true);
    expect(await running().failed?.retry(waiting.id)).toBe(true);
    await waitFor(async () => (await running().bills.load('waits')).value?.invoices === 1, {
      what: 'the invoice, once the Strawberry is billed',
    });
    expect((await running().bills.load('waits')).value).toMatchObject({
      total: 1_200 + 1_300,
      items: 2,
      invoices: 1,
    });
  });
});

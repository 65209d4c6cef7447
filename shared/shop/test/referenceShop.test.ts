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
  const { shop: running } = useRunningShop('reference shop', REFERENCE);

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
});

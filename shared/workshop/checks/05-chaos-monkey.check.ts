import { AddItem } from '@pierogi/shop';
import { describe, expect, it } from 'vitest';
import { fileToOpen, sendAndSettle, useShop } from './harness.ts';

const MONKEY = fileToOpen('src/chaosMonkey.ts');
const BILLING = fileToOpen('src/billing.ts');

describe('05 chaos monkey', () => {
  const shop = useShop();

  it('the chaos monkey sends every ItemAdded twice', async () => {
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'monkey', filling: 'Meat' }));
    // Each delivery is a line: handled, or dropped as a duplicate.
    const handled = shop()
      .log.recent()
      .filter(
        (e) =>
          (e.kind === 'handled' || e.kind === 'duplicate') &&
          e.endpoint === 'billing' &&
          e.messageType === 'ItemAdded',
      );
    expect(
      handled.length,
      `billing received ItemAdded ${handled.length} time(s); with the chaos monkey in ${MONKEY} it should arrive twice`,
    ).toBe(2);
    expect(new Set(handled.map((e) => e.messageId)).size, 'both copies carry one message id').toBe(
      1,
    );
  });

  it('billing charges each filling once, even when ItemAdded arrives twice', async () => {
    // Duplicates of its own, whatever the chaos monkey in src/chaosMonkey.ts does.
    shop().chaos.add({ kind: 'duplicate', messageType: 'ItemAdded' });
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'twice', filling: 'Meat' }));
    await sendAndSettle(shop(), (f) => f.send(AddItem, { orderId: 'twice', filling: 'Mushrooms' }));
    const { value: bill } = await shop().bills.load('twice');
    expect(
      bill?.total,
      `billing charged ${bill?.total} cents for Meat + Mushrooms (22.00). Open ${BILLING}: a filling already charged for this order changes nothing`,
    ).toBe(2_200);
  });
});

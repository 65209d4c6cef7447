import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { contracts, defineCommand, defineEvent } from '../src/index.ts';

const AddItem = defineCommand('AddItem', z.object({ orderId: z.string() }));
const ItemAdded = defineEvent('ItemAdded', z.object({ orderId: z.string(), filling: z.string() }));
const OrderSubmitted = defineEvent('OrderSubmitted', z.object({ items: z.number() }));

describe('contracts: message contracts by type name', () => {
  const shop = contracts(AddItem, ItemAdded, OrderSubmitted);

  it('finds each contract by its name on the wire', () => {
    expect(shop.byType('AddItem')).toBe(AddItem);
    expect(shop.byType('ItemAdded')).toBe(ItemAdded);
    expect(shop.byType('OrderSubmitted')).toBe(OrderSubmitted);
    expect(shop.types).toEqual(['AddItem', 'ItemAdded', 'OrderSubmitted']);
    expect(shop.has('ItemAdded')).toBe(true);
    expect(shop.has('ItemRemoved')).toBe(false);
  });

  it('an unknown name throws an error that names it and lists the known ones', () => {
    expect(() => shop.byType('ItemRemoved')).toThrow(
      'no contract for the message type "ItemRemoved"; the known types: AddItem, ItemAdded, OrderSubmitted',
    );
    expect(() => contracts().byType('AddItem')).toThrow('the known types: none');
  });

  it('refuses two contracts with one name', () => {
    const Again = defineEvent('ItemAdded', z.object({}));
    expect(() => contracts(ItemAdded, Again)).toThrow('two contracts are named "ItemAdded"');
  });

  it('is typed: a known name gives its contract, a union of names the union of contracts', () => {
    expectTypeOf(shop.byType('ItemAdded')).toEqualTypeOf<typeof ItemAdded>();
    const stored = { type: 'OrderSubmitted' } as { type: 'ItemAdded' | 'OrderSubmitted' };
    expectTypeOf(shop.byType(stored.type)).toEqualTypeOf<
      typeof ItemAdded | typeof OrderSubmitted
    >();
    const received: string = 'ItemRemoved';
    expectTypeOf(() => shop.byType(received)).returns.toEqualTypeOf<
      typeof AddItem | typeof ItemAdded | typeof OrderSubmitted
    >();
  });
});

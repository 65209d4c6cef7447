import { describe, expect, it } from 'vitest';
import { deterministicId, randomFromMessage, stableHash } from '../src/index.ts';

describe('deterministic processing helpers', () => {
  it('the same cause gives the same outgoing id; any other cause, another id', () => {
    const id = deterministicId('msg-1', 'orders', 'ItemAdded');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/); // a UUIDv5
    expect(deterministicId('msg-1', 'orders', 'ItemAdded')).toBe(id);
    expect(deterministicId('msg-2', 'orders', 'ItemAdded')).not.toBe(id);
    expect(deterministicId('msg-1', 'billing', 'ItemAdded')).not.toBe(id);
    expect(deterministicId('msg-1', 'orders', 'FirstItemAdded')).not.toBe(id);
  });

  it('ids and hashes do not change between versions (stored and sent values depend on them)', () => {
    expect(deterministicId('msg-1', 'orders', 'ItemAdded')).toBe(
      '512841ea-b32c-5d06-9f14-0287d871ccf8',
    );
    expect(stableHash('pierogi')).toBe(3442841977);
  });

  it('a retry of the same message draws the same random numbers', () => {
    const draw = (messageId: string) => {
      const random = randomFromMessage(messageId, 'discount');
      return [random.next(), random.next(), random.next()];
    };
    expect(draw('msg-1')).toEqual(draw('msg-1'));
    expect(draw('msg-1')).not.toEqual(draw('msg-2'));
  });
});

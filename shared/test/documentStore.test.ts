import { describe, expect, it } from 'vitest';
import {
  ConcurrencyError,
  type DocumentStore,
  DocumentTooLargeError,
  MemoryDocumentStore,
  PgDocumentStore,
} from '../src/store/index.ts';
import { useIsolation } from '../src/testing/index.ts';

interface Cart {
  items: string[];
}

const iso = useIsolation('document store');
let tables = 0;
const stores: Record<string, (maxBytes?: number) => Promise<DocumentStore<Cart>>> = {
  memory: async (maxBytes) => new MemoryDocumentStore<Cart>(maxBytes),
  postgres: async (maxBytes) => {
    const store = new PgDocumentStore<Cart>(iso().pool(), {
      table: `documents_${++tables}`,
      maxDocumentBytes: maxBytes,
    });
    await store.install();
    return store;
  },
};

for (const [name, make] of Object.entries(stores)) {
  describe(`document store: ${name}`, () => {
    it('a missing document loads as version 0; each save adds one', async () => {
      const store = await make();
      expect(await store.load('carts', 'c1')).toEqual({ value: undefined, version: 0 });
      expect(await store.save('carts', 'c1', { items: ['Meat'] }, 0)).toBe(1);
      expect(await store.save('carts', 'c1', { items: ['Meat', 'Strawberry'] }, 1)).toBe(2);
      expect(await store.load('carts', 'c1')).toEqual({
        value: { items: ['Meat', 'Strawberry'] },
        version: 2,
      });
    });

    it('a save based on an old version fails with a concurrency error and changes nothing', async () => {
      const store = await make();
      await store.save('carts', 'c1', { items: ['Meat'] }, 0);
      await store.save('carts', 'c1', { items: ['Meat', 'Mushrooms'] }, 1); // someone else
      await expect(store.save('carts', 'c1', { items: ['Strawberry'] }, 1)).rejects.toThrow(
        ConcurrencyError,
      );
      await expect(store.save('carts', 'c2', { items: [] }, 3)).rejects.toThrow(ConcurrencyError);
      expect((await store.load('carts', 'c1')).value).toEqual({ items: ['Meat', 'Mushrooms'] });
    });

    it('creating a document twice from version 0 fails the second time', async () => {
      const store = await make();
      await store.save('carts', 'c1', { items: ['Meat'] }, 0);
      await expect(store.save('carts', 'c1', { items: ['Meat'] }, 0)).rejects.toThrow(
        ConcurrencyError,
      );
    });

    it('the same id in two partitions is two documents', async () => {
      const store = await make();
      await store.save('krakow', 'c1', { items: ['Meat'] }, 0);
      await store.save('gdansk', 'c1', { items: ['Strawberry'] }, 0);
      expect((await store.load('krakow', 'c1')).value?.items).toEqual(['Meat']);
      expect((await store.load('gdansk', 'c1')).value?.items).toEqual(['Strawberry']);
    });

    it('a batch in one partition is all or nothing', async () => {
      const store = await make();
      await store.save('carts', 'c1', { items: ['Meat'] }, 0);
      await expect(
        store.batch('carts', [
          { id: 'c2', value: { items: ['Mushrooms'] }, expectedVersion: 0 },
          { id: 'c1', value: { items: [] }, expectedVersion: 7 }, // stale
        ]),
      ).rejects.toThrow(ConcurrencyError);
      expect(await store.load('carts', 'c2')).toEqual({ value: undefined, version: 0 });

      await store.batch('carts', [
        { id: 'c2', value: { items: ['Mushrooms'] }, expectedVersion: 0 },
        { id: 'c1', value: undefined, expectedVersion: 1 }, // delete
      ]);
      expect((await store.load('carts', 'c2')).version).toBe(1);
      expect(await store.load('carts', 'c1')).toEqual({ value: undefined, version: 0 });
    });

    it('a document over the size limit is refused with its size and the limit', async () => {
      const store = await make(100);
      const big = { items: Array.from({ length: 20 }, () => 'QuarkAndPotatoes') };
      await expect(store.save('carts', 'c1', big, 0)).rejects.toThrow(DocumentTooLargeError);
      await expect(store.save('carts', 'c1', big, 0)).rejects.toThrow(
        /carts\/c1 is \d+ bytes; the store accepts at most 100/,
      );
      expect(await store.load('carts', 'c1')).toEqual({ value: undefined, version: 0 });
    });
  });
}

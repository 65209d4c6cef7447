import { describe, expect, it } from 'vitest';
import {
  type BlobStore,
  BlobTooLargeError,
  blobNameForAttempt,
  MemoryBlobStore,
  PgBlobStore,
} from '../src/store/blobStore.ts';
import { useIsolation } from '../src/testing/index.ts';

const iso = useIsolation('blob store');
let tables = 0;
const stores: Record<string, (maxBlobBytes?: number) => Promise<BlobStore>> = {
  memory: async (maxBlobBytes) => new MemoryBlobStore({ maxBlobBytes }),
  postgres: async (maxBlobBytes) => {
    const store = new PgBlobStore(iso().pool(), { table: `blobs_${++tables}`, maxBlobBytes });
    await store.install();
    return store;
  },
};

const binary = Buffer.from([0x00, 0xff, 0x01, 0xfe, 0x00, 0x7f, 0x80, 0xff, 0x00]);

for (const [name, make] of Object.entries(stores)) {
  describe(`blob store: ${name}`, () => {
    it('binary data comes back byte for byte', async () => {
      const store = await make();
      await store.put('m1/receipt/a', binary, 'application/octet-stream');
      const read = await store.get('m1/receipt/a');
      expect(read).toBeInstanceOf(Buffer);
      expect([...(read ?? [])]).toEqual([0x00, 0xff, 0x01, 0xfe, 0x00, 0x7f, 0x80, 0xff, 0x00]);

      await store.put('m1/receipt/empty', Buffer.alloc(0));
      expect((await store.get('m1/receipt/empty'))?.length).toBe(0);
    });

    it('a missing name reads as undefined', async () => {
      const store = await make();
      expect(await store.get('nothing/here')).toBeUndefined();
    });

    it('a put of an existing name overwrites it', async () => {
      const store = await make();
      await store.put('m1/receipt/a', Buffer.from('first'), 'text/plain');
      await store.put('m1/receipt/a', Buffer.from('second, longer'), 'text/plain');
      expect((await store.get('m1/receipt/a'))?.toString()).toBe('second, longer');
      expect(await store.list('m1/')).toEqual(['m1/receipt/a']);
    });

    it('delete says whether there was a blob to delete', async () => {
      const store = await make();
      await store.put('m1/receipt/a', Buffer.from('a'));
      await store.put('m1/receipt/b', Buffer.from('b'));
      expect(await store.delete('m1/receipt/a')).toBe(true);
      expect(await store.get('m1/receipt/a')).toBeUndefined();
      expect(await store.delete('m1/receipt/a')).toBe(false);
      expect(await store.delete('never/stored')).toBe(false);
      expect((await store.get('m1/receipt/b'))?.toString()).toBe('b');
    });

    it('list returns the names under a prefix, in order', async () => {
      const store = await make();
      for (const n of ['m2/receipt/b', 'm1/receipt/b', 'm1/receipt/a', 'm1/label/a', 'm10/x']) {
        await store.put(n, Buffer.from(n));
      }
      expect(await store.list('m1/receipt/')).toEqual(['m1/receipt/a', 'm1/receipt/b']);
      expect(await store.list('m1/')).toEqual(['m1/label/a', 'm1/receipt/a', 'm1/receipt/b']);
      expect(await store.list('m1')).toEqual([
        'm1/label/a',
        'm1/receipt/a',
        'm1/receipt/b',
        'm10/x',
      ]);
      expect(await store.list('m3/')).toEqual([]);
      expect(await store.list('')).toEqual([
        'm1/label/a',
        'm1/receipt/a',
        'm1/receipt/b',
        'm10/x',
        'm2/receipt/b',
      ]);
    });

    it('list takes %, _ and \\ in the prefix literally', async () => {
      const store = await make();
      for (const n of ['a%b_c/1', 'a%b_c/2', 'aXbYc/1', 'a%bZc/1', 'abc/1', 'a\\b/1', 'a\\\\b/1']) {
        await store.put(n, Buffer.from(n));
      }
      expect(await store.list('a%b_')).toEqual(['a%b_c/1', 'a%b_c/2']);
      expect(await store.list('a%')).toEqual(['a%bZc/1', 'a%b_c/1', 'a%b_c/2']); // 'Z' < '_'
      expect(await store.list('%')).toEqual([]);
      expect(await store.list('a_')).toEqual([]);
      expect(await store.list('a\\b')).toEqual(['a\\b/1']);
    });

    it('each attempt gets its own name under the message and purpose', async () => {
      const store = await make();
      const first = blobNameForAttempt('msg-42', 'receipt');
      const second = blobNameForAttempt('msg-42', 'receipt');
      expect(first).not.toBe(second);
      expect(first.startsWith('msg-42/receipt/')).toBe(true);
      expect(second.startsWith('msg-42/receipt/')).toBe(true);
      expect(first.slice('msg-42/receipt/'.length)).toMatch(/^[0-9a-f-]{36}$/);

      // Two attempts of the same message upload side by side; neither overwrites the other.
      await store.put(first, Buffer.from('attempt 1'));
      await store.put(second, Buffer.from('attempt 2'));
      expect((await store.get(first))?.toString()).toBe('attempt 1');
      expect((await store.get(second))?.toString()).toBe('attempt 2');
      expect(await store.list('msg-42/receipt/')).toEqual([first, second].sort());

      // The loser's blob is deleted by name; the winner's stays.
      expect(await store.delete(second)).toBe(true);
      expect(await store.list('msg-42/receipt/')).toEqual([first]);
    });

    it('a blob over the size limit is refused with its size and the limit; nothing is stored', async () => {
      const store = await make(10);
      await store.put('m1/receipt/fits', Buffer.alloc(10, 1));
      expect((await store.get('m1/receipt/fits'))?.length).toBe(10);

      await expect(store.put('m1/receipt/big', Buffer.alloc(11, 2))).rejects.toThrow(
        BlobTooLargeError,
      );
      await expect(store.put('m1/receipt/big', Buffer.alloc(11, 2))).rejects.toThrow(
        /m1\/receipt\/big is 11 bytes; the store accepts at most 10/,
      );
      const error = await store.put('m1/receipt/big', Buffer.alloc(11)).catch((e: unknown) => e);
      expect((error as Error).name).toBe('BlobTooLargeError');
      expect(await store.get('m1/receipt/big')).toBeUndefined();

      // An oversized overwrite leaves the stored blob as it was.
      await expect(store.put('m1/receipt/fits', Buffer.alloc(11, 3))).rejects.toThrow(
        BlobTooLargeError,
      );
      expect([...((await store.get('m1/receipt/fits')) ?? [])]).toEqual(Array(10).fill(1));
      expect(await store.list('m1/')).toEqual(['m1/receipt/fits']);
    });

    it('the caller changing a buffer, given or returned, does not change the stored blob', async () => {
      const store = await make();
      const given = Buffer.from('original');
      await store.put('m1/receipt/a', given);
      given.fill(0x21);

      const returned = await store.get('m1/receipt/a');
      expect(returned?.toString()).toBe('original');
      returned?.fill(0x3f);

      expect((await store.get('m1/receipt/a'))?.toString()).toBe('original');
    });
  });
}

import { describe, expect, it } from 'vitest';
import { MemoryTokenStore, PgTokenStore, type TokenStore } from '../src/store/index.ts';
import { useIsolation } from '../src/testing/index.ts';

const iso = useIsolation('token store');
let tables = 0;
const stores: Record<string, () => Promise<TokenStore>> = {
  memory: async () => new MemoryTokenStore(),
  postgres: async () => {
    const store = new PgTokenStore(iso().pool(), `tokens_${++tables}`);
    await store.install();
    return store;
  },
};

for (const [name, make] of Object.entries(stores)) {
  describe(`token store: ${name}`, () => {
    it('a created token exists with a version until it is deleted with that version', async () => {
      const store = await make();
      await store.create('t1');
      const version = await store.version('t1');
      expect(version).toBe(1);
      expect(await store.deleteIfVersion('t1', 2)).toBe(false);
      expect(await store.version('t1')).toBe(1);
      expect(await store.deleteIfVersion('t1', 1)).toBe(true);
      expect(await store.version('t1')).toBeUndefined(); // a message carrying t1 is now a duplicate
      expect(await store.deleteIfVersion('t1', 1)).toBe(false);
    });

    it('creating a token that exists changes nothing', async () => {
      const store = await make();
      await store.create('t1');
      await store.create('t1');
      expect(await store.version('t1')).toBe(1);
      expect(await store.count()).toBe(1);
    });

    it('a discarded token is gone whatever its version; discarding a missing one is harmless', async () => {
      const store = await make();
      await store.create('t1');
      await store.create('t2');
      await store.discard('t1');
      await store.discard('t3');
      expect(await store.version('t1')).toBeUndefined();
      expect(await store.version('t2')).toBe(1);
      expect(await store.count()).toBe(1);
    });

    it('storage holds only the tokens of messages in flight', async () => {
      const store = await make();
      for (let i = 0; i < 50; i++) await store.create(`t${i}`);
      for (let i = 0; i < 45; i++) await store.deleteIfVersion(`t${i}`, 1);
      expect(await store.count()).toBe(5);
    });
  });
}

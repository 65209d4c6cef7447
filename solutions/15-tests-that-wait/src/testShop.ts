import { fileURLToPath } from 'node:url';
import type { ChaosRule } from '@pierogi/shared';
import { type Isolation, isolate } from '@pierogi/shared/testing';
import { loadShopCode, type RunningShop, runShop, type ShopStep } from '@pierogi/shop';
import { afterAll, beforeAll, inject } from 'vitest';

/**
 * The chaos a test of this shop runs under, chosen by `CHAOS_SEED` (nothing to do in this file).
 *
 * - unset or 0: none, a quiet shop;
 * - any other number: half the messages leave the sender two seconds late, and about one in four
 *   leaves twice; the seed decides which ones, and the same seed picks the same ones again.
 *
 * `pnpm check 15` runs your test under several seeds; `CHAOS_SEED=3 pnpm test` (in this folder)
 * runs it under one.
 */
export function chaosOf(seed: number): ChaosRule<ShopStep>[] {
  if (!seed) return [];
  return [
    { kind: 'delay', rate: 0.5, delayMs: 2_000 },
    { kind: 'duplicate', rate: 0.25 },
  ];
}

/** The seed `CHAOS_SEED` asks for (0: no chaos). */
export function chaosSeed(): number {
  const seed = Number(process.env.CHAOS_SEED ?? 0);
  if (!Number.isInteger(seed) || seed < 0) {
    throw new Error(`CHAOS_SEED=${process.env.CHAOS_SEED}: use a whole number, 0 for no chaos`);
  }
  return seed;
}

/**
 * Starts the shop of this folder (`./index.ts`) for one test file, on the servers the test run
 * found, under names of its own, with the chaos `CHAOS_SEED` asks for; stops it afterwards.
 */
export function useShopUnderTest(): () => RunningShop {
  let shop: RunningShop | undefined;
  let iso: Isolation | undefined;
  beforeAll(async () => {
    iso = await isolate({
      label: 'shop_test',
      amqpUrl: inject('amqpUrl'),
      databaseUrl: inject('databaseUrl'),
    });
    const seed = chaosSeed();
    shop = await runShop({
      code: await loadShopCode(fileURLToPath(new URL('./index.ts', import.meta.url))),
      amqpUrl: iso.amqpUrl,
      databaseUrl: iso.databaseUrl,
      schema: iso.schema,
      prefix: iso.prefix,
      onDeclare: (name) => iso?.track(name),
      chaosSeed: seed,
      chaosRules: chaosOf(seed),
      // Fewer, shorter retries than the shop's own, as in the checks.
      recoverability: { immediateRetries: 2, delayedRetriesMs: [100, 500, 2_000] },
    });
  });
  afterAll(async () => {
    await shop?.close();
    await iso?.cleanup();
  });
  return () => {
    if (!shop) throw new Error('the shop is not running: use it inside a test');
    return shop;
  };
}

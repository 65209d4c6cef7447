import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Isolation, isolate } from '@pierogi/shared/testing';
import { afterAll, beforeAll, inject } from 'vitest';
import { type RunningShop, type RunShopOptions, runShop } from '../src/runShop.ts';
import { loadShopCode } from '../src/shopCode.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * Runs the shop code of `folder` (relative to the repository) for the calling test file, in a
 * broker prefix and Postgres schema of its own, removed afterwards.
 */
export function useRunningShop(
  label: string,
  folder: string,
  options: Partial<Omit<RunShopOptions, 'code' | 'amqpUrl' | 'databaseUrl'>> = {},
): { shop: () => RunningShop; iso: () => Isolation } {
  let iso: Isolation | undefined;
  let shop: RunningShop | undefined;
  beforeAll(async () => {
    iso = await isolate({ label, amqpUrl: inject('amqpUrl'), databaseUrl: inject('databaseUrl') });
    shop = await runShop({
      code: await loadShopCode(path.join(repoRoot, folder)),
      amqpUrl: iso.amqpUrl,
      databaseUrl: iso.databaseUrl,
      schema: iso.schema,
      prefix: `${iso.prefix}.`,
      onDeclare: (name) => iso?.track(name),
      ...options,
    });
  });
  afterAll(async () => {
    await shop?.close();
    await iso?.cleanup();
  });
  return {
    shop: () => {
      if (!shop) throw new Error('the shop has not started');
      return shop;
    },
    iso: () => {
      if (!iso) throw new Error('no isolation yet');
      return iso;
    },
  };
}

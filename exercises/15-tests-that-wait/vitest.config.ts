import { defineConfig } from 'vitest/config';

/**
 * This folder's own tests (`src/*.test.ts`): `pnpm test` here, with `CHAOS_SEED=N` in front for
 * chaos (see src/testShop.ts). `pnpm check 15` runs them the same way.
 */
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['src/**/*.test.ts'],
    // Finds RabbitMQ and Postgres (or their embedded stand-ins), as the checks do.
    globalSetup: [
      new URL('../../shared/workshop/src/servers/globalSetup.ts', import.meta.url).pathname,
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

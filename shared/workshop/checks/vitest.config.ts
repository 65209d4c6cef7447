import { defineConfig } from 'vitest/config';

/** `pnpm check NN`: one exercise's checks, against the shop code SHOP_CODE names (its folder). */
export default defineConfig({
  test: {
    root: new URL('../../..', import.meta.url).pathname,
    include: ['shared/workshop/checks/*.check.ts'],
    globalSetup: ['shared/workshop/src/servers/globalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['shared/**/*.test.ts', 'solutions/**/*.test.ts'],
    globalSetup: ['shared/workshop/src/servers/globalSetup.ts'],
    // Real servers answer in milliseconds; these bounds only stop a hang from lasting forever.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

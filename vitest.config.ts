import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The test files that take longest (a minute or more each), in the order they should start. They
 * go first, so that the short ones fill the workers around them and none of the long ones is left
 * to run alone at the end; the rest keep Vitest's own order.
 */
const LONGEST_FIRST = [
  'shared/test/strategies.explorer.test.ts',
  'shared/workshop/test/exercises.part',
  'shared/test/strategies.proof.part',
  'shared/shop/test/system.test.ts',
  'shared/test/interleavingExplorer.test.ts',
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const at = LONGEST_FIRST.findIndex((start) => file.moduleId.includes(start));
      return at === -1 ? LONGEST_FIRST.length : at;
    };
    return [...(await super.sort(files))].sort((a, b) => rank(a) - rank(b));
  }
}

/**
 * The store suites and the exercises' checks, run a second time on the embedded stand-ins
 * (PGlite and the in-memory broker), as a laptop without servers runs them.
 */
const EMBEDDED_SUITES = [
  'shared/test/documentStore.test.ts',
  'shared/test/tokenStore.test.ts',
  'shared/test/blobStore.test.ts',
  'shared/test/tokenBased.test.ts',
  'shared/test/outOfDocumentOutbox.test.ts',
  'shared/test/outboxDispatcher.test.ts',
  'shared/test/sqlOutboxInbox.proof.test.ts',
  'shared/test/strategies.proof.part*.test.ts',
  'shared/workshop/test/exercises.part*.test.ts',
];

export default defineConfig({
  test: {
    // Real servers answer in milliseconds; these bounds only stop a hang from lasting forever.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Three test files at a time even on two cores (Vitest would take one): most of a test's
    // time is spent waiting for servers and for the checks' child processes, not computing.
    maxWorkers: 3,
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'servers',
          include: ['shared/**/*.test.ts', 'solutions/**/*.test.ts'],
          globalSetup: ['shared/workshop/src/servers/globalSetup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'embedded',
          include: EMBEDDED_SUITES,
          globalSetup: ['shared/workshop/src/servers/globalSetup.embedded.ts'],
        },
      },
      {
        // The lecture decks, built and opened in Chromium: no servers needed.
        extends: true,
        test: {
          name: 'slides',
          include: ['slides/**/*.test.ts'],
        },
      },
    ],
  },
});

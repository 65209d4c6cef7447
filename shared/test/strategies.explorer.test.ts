import { describe, expect, it } from 'vitest';
import { exploreInterleavings, formatExecution } from '../src/testing/interleavingExplorer.ts';
import { twoSqlCopies } from '../src/testing/models/sqlOutboxInboxActors.ts';
import { twoCopiesThrough } from '../src/testing/models/strategyActors.ts';

/**
 * The library's own strategy code, two copies of one message, every order of their steps. The
 * bounds keep the space finite: `crashes` injected per execution, and `conflicts` a copy may lose
 * before giving up (a delivery would then be retried later, which is not explored).
 */
const CASES = [
  { kind: 'outbox + inbox', crashes: 1, conflicts: 1, atLeast: 10_000 },
  { kind: 'token-based', crashes: 1, conflicts: 0, atLeast: 10_000 },
  { kind: 'token-based', crashes: 0, conflicts: 1, atLeast: 10_000 },
  // Three steps a copy (load, commit, dispatch): far fewer orders, so two crashes.
  { kind: 'state-based', crashes: 2, conflicts: 1, atLeast: 500 },
] as const;

describe("interleaving explorer: two copies of one message through the library's strategies", () => {
  for (const { kind, crashes, conflicts, atLeast } of CASES) {
    it(`${kind}, ${crashes} crash and ${conflicts} lost race per copy: every execution keeps every invariant`, async () => {
      const result = await exploreInterleavings({
        ...twoCopiesThrough(kind, { crashes, conflicts }),
        maxExecutions: 1_000_000,
      });
      console.log(
        `${kind} (crashes ${crashes}, conflicts ${conflicts}): ${formatExecution(result)} (${result.elapsedMs.toFixed(0)} ms)`,
      );
      expect(result.ok, formatExecution(result)).toBe(true);
      expect(result.executions).toBeGreaterThan(atLeast);
    }, 300_000); // the largest, token-based with a lost race: about 190,000 executions, a minute alone on two cores, two beside the other test files
  }
});

describe('interleaving explorer: two copies of one message through a model of the SQL outbox + inbox', () => {
  it('a crash at any step of either copy: every execution keeps every invariant', async () => {
    const result = await exploreInterleavings(twoSqlCopies({ crashes: 1 }));
    console.log(`SQL outbox + inbox, 1 crash: ${formatExecution(result)}`);
    expect(result.ok, formatExecution(result)).toBe(true);
    expect(result.executions).toBeGreaterThan(20);
  });

  it('two crashes: still every invariant', async () => {
    const result = await exploreInterleavings(twoSqlCopies({ crashes: 2 }));
    console.log(`SQL outbox + inbox, 2 crashes: ${formatExecution(result)}`);
    expect(result.ok, formatExecution(result)).toBe(true);
  });

  it('dispatching before the commit: the explorer finds a ghost message', async () => {
    const result = await exploreInterleavings(
      twoSqlCopies({ crashes: 1, dispatchBeforeCommit: true }),
    );
    console.log(formatExecution(result));
    expect(result.failure?.invariant).toBe('no ghost messages: every message sent was committed');
    expect(result.failure?.trace.some((line) => line.includes('crashes before'))).toBe(true);
  });
});

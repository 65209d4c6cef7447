import { describe, expect, it } from 'vitest';
import {
  type ActorRun,
  exploreInterleavings,
  formatExecution,
} from '../src/testing/interleavingExplorer.ts';
import { twoCopies } from '../src/testing/models/outboxInboxActors.ts';

describe('interleaving explorer: two copies of one message', () => {
  it('outbox + inbox, order loaded before the inbox check: every execution keeps the invariants', async () => {
    const result = await exploreInterleavings({ ...twoCopies(false, 1), maxExecutions: 500_000 });
    console.log(
      `${formatExecution(result)} (${result.executions} executions, ${result.elapsedMs.toFixed(0)} ms)`,
    );
    expect(result.ok).toBe(true);
    expect(result.executions).toBeGreaterThan(1000);
  });

  it('inbox checked first: an execution processes the message twice', async () => {
    const result = await exploreInterleavings(twoCopies(true, 0));
    console.log(formatExecution(result));
    expect(result.failure?.invariant).toBe('no duplicate processing');
    expect(result.failure?.trace).toContain('copy 2: add item + outbox entry');
  });

  it('explores every interleaving: two actors of 2 and 3 steps have C(5,2) = 10 orders', async () => {
    const orders = new Set<string>();
    const step = (name: string, n: number): ActorRun<string[]> =>
      async function* (log) {
        for (let i = 1; i <= n; i++) {
          yield `${name}${i}`;
          log.push(`${name}${i}`);
        }
      };
    const result = await exploreInterleavings<string[]>({
      stores: () => [],
      actors: [
        { name: 'a', run: step('a', 2) },
        { name: 'b', run: step('b', 3) },
      ],
      invariants: [{ name: 'record', holds: (log) => orders.add(log.join(' ')) !== undefined }],
    });
    expect(result.executions).toBe(10);
    expect(orders.size).toBe(10);
  });
});

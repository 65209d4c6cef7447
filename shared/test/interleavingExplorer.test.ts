import { describe, expect, it } from 'vitest';
import { formatCounterexample } from '../src/testing/counterexample.ts';
import {
  type ActorRun,
  counterexampleOfExecution,
  exploreInterleavings,
  formatExecution,
} from '../src/testing/interleavingExplorer.ts';
import { twoCopies } from '../src/testing/models/outboxInboxActors.ts';
import { stepwise } from '../src/testing/stepwise.ts';

describe('interleaving explorer: two copies of one message', () => {
  it('outbox + inbox, order loaded before the inbox check: every execution keeps the invariants', async () => {
    const result = await exploreInterleavings({ ...twoCopies(false, 1), maxExecutions: 500_000 });
    console.log(
      `${formatExecution(result)} (${result.executions} executions, ${result.elapsedMs.toFixed(0)} ms)`,
    );
    expect(result.ok).toBe(true);
    expect(result.executions).toBeGreaterThan(1000);
  }, 120_000); // about 109,000 executions: 15 s alone on two cores, twice that beside other files

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

  it('a failing execution becomes a counterexample: event by event, who acted on what, and the end state', async () => {
    const options = twoCopies(true, 0);
    const result = await exploreInterleavings({
      ...options,
      describe: async (s) =>
        `o1 holds ${(await s.orders.load('orders', 'o1')).value?.items} items; sent ${s.sent.length}`,
    });
    const failure = result.failure;
    expect(failure?.steps.map((s) => `${s.actor}: ${s.label}`)).toEqual(failure?.trace);
    expect(failure?.outcome).toBe('o1 holds 2 items; sent 2');
    const example = counterexampleOfExecution(result, {
      title: 'two copies of add-item-1',
      targetOf: (label) => (label.includes('inbox') ? 'inbox' : 'orders'),
    });
    expect(example?.invariant).toBe('no duplicate processing');
    expect(example?.participants).toEqual(['copy 1', 'copy 2']);
    expect(example?.steps[0]).toEqual({ actor: 'copy 1', action: 'check inbox', to: 'inbox' });
    const text = formatCounterexample(example as NonNullable<typeof example>);
    expect(text).toMatch(
      /^"no duplicate processing" is broken — two copies of add-item-1 \(found after \d+ executions in \d+(\.\d)? m?s\):/,
    );
    expect(text).toContain('copy 2 → orders: add item + outbox entry');
    expect(text.split('\n').at(-1)).toBe('  ⇒ o1 holds 2 items; sent 2');
    expect(
      counterexampleOfExecution({ ok: true, executions: 3, elapsedMs: 1 }, { title: 't' }),
    ).toBeUndefined();
  });

  it('a crash shows as the actor alone, crashing before its next step', async () => {
    const twoSteps: ActorRun<string[]> = async function* (log) {
      for (const label of ['first', 'second']) {
        yield label;
        log.push(label);
      }
    };
    const result = await exploreInterleavings<string[]>({
      stores: () => [],
      actors: [{ name: 'a', run: twoSteps }],
      maxFailures: 1,
      invariants: [{ name: 'each step once', holds: (log) => log.length === 2 }],
    });
    expect(counterexampleOfExecution(result, { title: 't', targetOf: () => 'log' })?.steps).toEqual(
      [
        { actor: 'a', action: 'first', to: 'log' },
        { actor: 'a', action: 'crashes before "second" and starts over' },
        { actor: 'a', action: 'first', to: 'log' },
        { actor: 'a', action: 'second', to: 'log' },
      ],
    );
  });

  it('stepwise code that fails as a delivery can is tried again at once when asked, and ends the exploration otherwise', async () => {
    class Conflict extends Error {}
    const flaky = (retried: number[]) =>
      stepwise<number[]>(
        async (log, steps) => {
          await steps.around('try', {}, async () => log.push(1));
          if (log.length < 3) throw new Conflict('lost the race');
          retried.push(log.length);
        },
        { retryWhen: (error) => error instanceof Conflict },
      );
    const done: number[] = [];
    const result = await exploreInterleavings<number[]>({
      stores: () => [],
      actors: [{ name: 'a', run: flaky(done) }],
      invariants: [{ name: 'three tries', holds: (log) => log.length === 3 }],
    });
    expect(result.ok, formatExecution(result)).toBe(true);
    expect(done).toEqual([3]);
    const traced = await exploreInterleavings<number[]>({
      stores: () => [],
      actors: [{ name: 'a', run: flaky([]) }],
      invariants: [{ name: 'fails, to show its trace', holds: () => false }],
    });
    expect(traced.failure?.trace).toEqual([
      'a: try',
      'a: try (tried again after Error)',
      'a: try (tried again after Error)',
    ]);

    const strict = stepwise<number[]>(async (_log, steps) => {
      await steps.around('try', {}, async () => undefined);
      throw new Conflict('lost the race');
    });
    await expect(
      exploreInterleavings<number[]>({
        stores: () => [],
        actors: [{ name: 'a', run: strict }],
        invariants: [],
      }),
    ).rejects.toThrow('lost the race');
  });
});

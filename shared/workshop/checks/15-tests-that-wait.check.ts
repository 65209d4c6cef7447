import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../src/exercises.ts';
import { codeUnderCheck, fileToOpen } from './codeUnderCheck.ts';

/**
 * Check 15 runs the attendee's own test file, `src/shop.test.ts`, with the vitest config of their
 * folder: once on a quiet shop and once under each chaos seed (the chaos a seed means is `chaosOf`
 * in src/testShop.ts: delayed and duplicated messages). One child vitest runs them all side by
 * side, a project per seed (15-tests-that-wait.runs.config.ts): the check takes about as long as
 * the slowest run. Then it reads the file for a sleep.
 */
const TEST_FILE = 'src/shop.test.ts';
const CHAOS_SEEDS = [1, 2, 3] as const;
const ALL_SEEDS = [0, ...CHAOS_SEEDS];

interface TestRun {
  readonly seed: number;
  readonly passed: string[];
  /** "test name: the start of its failure", or what kept the file from running. */
  readonly failures: string[];
}

/** Runs the attendee's test file under every seed, side by side, on this check's servers. */
async function runTestFile(): Promise<Map<number, TestRun>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pierogi-check-15-'));
  const report = path.join(dir, 'report.json');
  const config = path.join(ROOT, 'shared/workshop/checks/15-tests-that-wait.runs.config.ts');
  try {
    const vitest = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const { NO_COLOR: _n, FORCE_COLOR: _f, ...env } = process.env;
    let output = '';
    await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [vitest, 'run', '--config', config], {
        cwd: path.join(ROOT, codeUnderCheck()),
        env: {
          ...env,
          NO_COLOR: '1',
          RUNS_CONFIG: path.join(ROOT, codeUnderCheck(), 'vitest.config.ts'),
          RUNS_REPORT: report,
          RUNS_SEEDS: ALL_SEEDS.join(','),
          // The servers this check found (embedded ones included, by URL): the child joins them
          // instead of starting its own.
          WORKSHOP_SERVERS: 'auto',
          ...(inject('embedded').includes('database') ? { RUNS_ONE_AT_A_TIME: '1' } : {}),
          AMQP_URL: inject('amqpUrl'),
          DATABASE_URL: inject('databaseUrl'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Kept for when the run ends without a report (a config that does not load, say).
      const keep = (chunk: Buffer) => {
        output = `${output}${chunk.toString()}`.slice(-2_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? 1));
    });
    return readReport(report, output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function readReport(file: string, output: string): Map<number, TestRun> {
  const { runs, errors } = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as {
        runs: Record<string, { passed: string[]; failures: string[] }>;
        errors: string[];
      })
    : {
        runs: {},
        errors: [`the test run ended before it could report; the end of its output:\n${output}`],
      };
  return new Map(
    ALL_SEEDS.map((seed) => {
      const run = runs[`seed ${seed}`] ?? { passed: [], failures: ['the file did not run'] };
      return [seed, { seed, passed: run.passed, failures: [...run.failures, ...errors] }];
    }),
  );
}

/** How an attendee runs what the check ran, in a terminal. */
const again = (seed: number) =>
  `CHAOS_SEED=${seed} pnpm -C ${codeUnderCheck()} test`.replace('CHAOS_SEED=0 ', '');

const described = (run: TestRun) =>
  `  with CHAOS_SEED=${run.seed} (${again(run.seed)}):\n    - ${run.failures.join('\n    - ')}`;

describe('15 tests that wait for done', () => {
  let runs: Map<number, TestRun> | undefined;
  beforeAll(async () => {
    runs = await runTestFile();
  }, 90_000);
  const result = (seed: number) => runs?.get(seed) as TestRun;

  // One check for the quiet run and the chaos runs: on a busy machine a fixed sleep may fail
  // the quiet run too, and it is the same mistake either way.
  it(`the test of the shop passes on a quiet shop and under delay and duplicate chaos, seeds ${CHAOS_SEEDS.join(', ')}`, () => {
    const quiet = result(0);
    const failed = CHAOS_SEEDS.map(result).filter(
      (run) => run.failures.length > 0 || run.passed.length === 0,
    );
    const why: string[] = [];
    if (quiet.failures.length > 0 || quiet.passed.length === 0) {
      why.push(
        `${fileToOpen(TEST_FILE)} fails on a quiet shop, with no chaos at all:\n${described(quiet)}${quiet.passed.length === 0 && quiet.failures.length === 0 ? '\n    - no test passed' : ''}\nIf an order, a bill or a count is missing, the test looked before the shop was done: it must wait until the conversation of each command is settled (shop().tracer)`,
      );
    }
    if (failed.length > 0) {
      why.push(
        `${fileToOpen(TEST_FILE)} fails under chaos, where half the messages leave two seconds late and some leave twice; the shop itself is correct (it is the solution of 14):\n${failed.map(described).join('\n')}\nA test that waits a fixed time looks before the shop is done whenever the shop is slower than that. Wait until each command's conversation has settled instead: shop().tracer.waitUntilSettled(conversationId, { timeoutMs }), with the conversation id of the message the frontend sent`,
      );
    }
    expect(why, why.join('\n\n')).toEqual([]);
  });

  it('the test of the shop does not sleep', () => {
    const source = readFileSync(path.join(ROOT, fileToOpen(TEST_FILE)), 'utf8');
    const sleeps = source
      .split('\n')
      .map((line, index) => ({ line: line.trim(), number: index + 1 }))
      .filter(({ line }) => /\bset(Timeout|Interval)\b|\bsleep\b|timers\/promises/.test(line))
      .filter(({ line }) => !line.startsWith('//') && !line.startsWith('*'));
    expect(
      sleeps.map(({ line, number }) => `${TEST_FILE}:${number}: ${line}`),
      `${fileToOpen(TEST_FILE)} still waits a fixed time. A longer sleep passes more often and makes every run slower, and it is still a guess: wait for the conversation to settle instead, and delete the sleep`,
    ).toEqual([]);
  });
});

import { writeFileSync } from 'node:fs';
import type { Reporter } from 'vitest/node';

/**
 * The config with which check 15 runs the attendee's test file: a project per chaos seed, each
 * the attendee's own config (`RUNS_CONFIG`, their folder's vitest.config.ts) with `CHAOS_SEED` set,
 * all side by side; a reporter writes each seed's outcome to `RUNS_REPORT` as JSON:
 * `{ runs: { "seed N": { passed, failures } }, errors }`.
 */
const attendeeConfig = required('RUNS_CONFIG');
const report = required('RUNS_REPORT');
const seeds = required('RUNS_SEEDS').split(',').map(Number);

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: this config is run by check 15`);
  return value;
}

/** The first lines of an error's message: what the assertion said, without the stack. */
const start = (text: string | undefined) =>
  (text ?? 'no message').split('\n').slice(0, 8).join('\n      ').trimEnd();

const reporter: Reporter = {
  onTestRunEnd(modules, unhandled) {
    const runs: Record<string, { passed: string[]; failures: string[] }> = {};
    for (const module of modules) {
      const name = module.project.name;
      runs[name] ??= { passed: [], failures: [] };
      const run = runs[name];
      for (const error of module.errors()) run.failures.push(`the file: ${start(error.message)}`);
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state === 'passed') run.passed.push(test.name);
        else if (result.state === 'failed') {
          run.failures.push(`"${test.name}": ${start(result.errors?.[0]?.message)}`);
        } else run.failures.push(`"${test.name}": did not finish (${result.state})`);
      }
    }
    const errors = unhandled.map((error) => `outside any test: ${start(error.message)}`);
    writeFileSync(report, JSON.stringify({ runs, errors }));
  },
};

export default {
  test: {
    // A run is mostly waiting for the shop, not computing: all of them at once — but one at a
    // time on the embedded database, whose one session the four shops would otherwise share.
    maxWorkers: process.env.RUNS_ONE_AT_A_TIME ? 1 : seeds.length,
    reporters: [reporter],
    projects: seeds.map((seed) => ({
      extends: attendeeConfig,
      test: { name: `seed ${seed}`, env: { CHAOS_SEED: String(seed) } },
    })),
  },
};

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { type ExerciseInfo, ROOT } from './exercises.ts';

export interface CheckOutcome {
  readonly passed: boolean;
  /** The names of the checks that failed ("describe > test"). */
  readonly failed: string[];
  readonly passedNames: string[];
  readonly exitCode: number;
}

/** The check file of an exercise: `shared/workshop/checks/NN-slug.check.ts`. */
export function checkFileOf(exercise: ExerciseInfo): string {
  return `shared/workshop/checks/${exercise.number}-${exercise.slug}.check.ts`;
}

/**
 * Runs an exercise's checks against the shop code of its exercise or of its solution, in a child
 * process (a fresh module graph, as `pnpm check` has). `output: 'inherit'` shows vitest's report;
 * 'quiet' only collects the result.
 */
export async function runCheck(
  exercise: ExerciseInfo,
  which: 'exercise' | 'solution',
  output: 'inherit' | 'quiet',
  /** Settings for the check's process, over this one's (e.g. the servers to use). */
  env: NodeJS.ProcessEnv = {},
): Promise<CheckOutcome> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pierogi-check-'));
  const report = path.join(dir, 'report.json');
  try {
    const vitest = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const args = [
      vitest,
      'run',
      '--config',
      'shared/workshop/checks/vitest.config.ts',
      checkFileOf(exercise),
      '--reporter=json',
      `--outputFile=${report}`,
      ...(output === 'inherit' ? ['--reporter=default'] : []),
    ];
    const exitCode = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        env: {
          ...withoutColourSettings(process.env),
          ...env,
          SHOP_CODE: exercise[which],
          // Colour for a person at a terminal; plain text into a file, a pipe or a CI log.
          ...(output === 'inherit' && process.stdout.isTTY
            ? { FORCE_COLOR: '1' }
            : { NO_COLOR: '1' }),
        },
        stdio: output === 'inherit' ? ['ignore', 'pipe', 'inherit'] : 'ignore',
      });
      // vitest's report, without the line about the temporary JSON file it is read back from.
      // Line by line: a chunk may end in the middle of the line to drop.
      if (child.stdout) {
        createInterface({ input: child.stdout }).on('line', (line) => {
          if (!line.includes('JSON report written to')) process.stdout.write(`${line}\n`);
        });
      }
      child.on('error', reject);
      child.on('exit', (code) => resolve(code ?? 1));
    });
    const results = readReport(report);
    return { passed: exitCode === 0, exitCode, ...results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The environment without what would force colour on or off (decided above instead). */
function withoutColourSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { FORCE_COLOR: _force, NO_COLOR: _no, ...rest } = env;
  return rest;
}

function readReport(file: string): { failed: string[]; passedNames: string[] } {
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as {
      testResults: { assertionResults: { fullName: string; status: string }[] }[];
    };
    const all = json.testResults.flatMap((r) => r.assertionResults);
    return {
      failed: all.filter((a) => a.status === 'failed').map((a) => a.fullName),
      passedNames: all.filter((a) => a.status === 'passed').map((a) => a.fullName),
    };
  } catch {
    return { failed: ['(the checks did not run: see the output above)'], passedNames: [] };
  }
}

/**
 * The workshop's commands: `pnpm exercises`, `pnpm exercise NN`, `pnpm solution NN`,
 * `pnpm start`, `pnpm check NN [--solution]`, `pnpm diff NN`, `pnpm reset NN`, `pnpm errors`.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { checkFileOf, runCheck } from './checkRunner.ts';
import {
  type ExerciseInfo,
  findExercise,
  listExercises,
  printExercises,
  ROOT,
  UsageError,
} from './exercises.ts';

// The shop, the library and server discovery are loaded by the commands that need them, so that
// `pnpm exercises`, `pnpm check` and `pnpm diff` answer at once.

const [command, ...rest] = process.argv.slice(2);
const flags = new Set(rest.filter((a) => a.startsWith('--')));
const positional = rest.filter((a) => !a.startsWith('--'));

async function main(): Promise<number> {
  switch (command) {
    case 'exercises':
      return exercises();
    case 'exercise':
      return run(findExercise(positional[0]), 'exercise');
    case 'solution':
      return run(findExercise(positional[0]), 'solution');
    case 'start': {
      const latest = listExercises().at(-1);
      if (!latest) throw new UsageError('there is no solution to start yet');
      return run(latest, 'solution');
    }
    case 'check':
      return check(findExercise(positional[0]), flags.has('--solution') ? 'solution' : 'exercise');
    case 'diff':
      return diff(findExercise(positional[0]));
    case 'reset':
      return reset(findExercise(positional[0]));
    case 'errors':
      return (await import('./errors.ts')).errors(rest);
    default:
      throw new UsageError(
        `unknown command ${command ?? '(none)'}: use exercises, exercise NN, solution NN, start, check NN, diff NN, reset NN or errors`,
      );
  }
}

function exercises(): number {
  printExercises(flags.has('--json'));
  return 0;
}

/** Exercises whose check finds counterexamples: their page shows the last one. */
const SHOWS_COUNTEREXAMPLES = new Set(['16', '17']);

async function run(exercise: ExerciseInfo, which: 'exercise' | 'solution'): Promise<number> {
  const { discoverServers, EMBEDDED_DATA_DIR } = await import('./servers/index.ts');
  const { loadShopCode, runShop } = await import('@pierogi/shop');
  const { counterexamplePanel } = await import('./counterexamples.ts');
  const servers = await discoverServers({ embeddedDataDir: EMBEDDED_DATA_DIR });
  if (servers.banner) console.log(`${servers.banner}\n`);
  servers.whenGone((why) => {
    console.error(`\n${why}: this command cannot go on. Start it again.`);
    process.exit(1);
  });
  const code = await loadShopCode(path.join(ROOT, exercise[which]));
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`PORT=${process.env.PORT} is not a port number: use e.g. PORT=3001`);
  }
  const shop = await runShop({
    code,
    amqpUrl: servers.amqpUrl,
    databaseUrl: servers.databaseUrl,
    port,
    host: process.env.HOST ?? '127.0.0.1',
    schema: `shop_${exercise.number}_${which}`,
    prefix: `shop.${exercise.number}.${which}.`,
    ...(SHOWS_COUNTEREXAMPLES.has(exercise.number)
      ? { counterexample: () => counterexamplePanel(exercise[which]) }
      : {}),
  });
  console.log(
    `\n${which === 'exercise' ? 'Exercise' : 'Solution'} ${exercise.number} (${exercise.title}) is running.\nOpen ${shop.url} — Ctrl-C stops it.\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log('\nStopping…');
  await shop.close();
  await servers.stop();
  return 0;
}

async function check(exercise: ExerciseInfo, which: 'exercise' | 'solution'): Promise<number> {
  console.log(`Checking ${exercise[which]} (${checkFileOf(exercise)})…`);
  const outcome = await runCheck(exercise, which, 'inherit');
  if (outcome.passed) {
    console.log(
      `\n✔ Exercise ${exercise.number} is solved${which === 'solution' ? ' by its solution' : ''}.`,
    );
  } else {
    console.log(
      `\n✘ Not yet: ${outcome.failed.length} check(s) fail. Each message above says what is wrong and which file to open (in ${exercise[which]}/).`,
    );
  }
  const hint = lintHint(exercise[which]);
  if (hint) console.log(`\n${hint}`);
  return outcome.exitCode;
}

/**
 * What the linter finds in the folder, as a hint (the check does not depend on it): formatting
 * and lint errors make `pnpm test` fail later, so an attendee hears of them now.
 */
function lintHint(folder: string): string | undefined {
  const biome = path.join(ROOT, 'node_modules', '.bin', 'biome');
  const result = spawnSync(biome, ['check', folder, '--max-diagnostics=0', '--colors=off'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (result.error || result.status === 0) return undefined;
  const found = /Found (\d+) errors?/.exec(`${result.stdout}${result.stderr}`)?.[1];
  if (!found) return undefined;
  return `Hint (not part of the check): the linter finds ${found} problem(s) in ${folder}/, formatting or lint. \`pnpm format\` fixes the formatting; \`pnpm lint\` shows the rest. \`pnpm test\` fails until they are gone.`;
}

function diff(exercise: ExerciseInfo): number {
  const result = spawnSync(
    'git',
    // The code only: the READMEs and package names differ by design.
    [
      'diff',
      '--no-index',
      '--color=auto',
      '--',
      `${exercise.exercise}/src`,
      `${exercise.solution}/src`,
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  if (result.error) throw new UsageError(`git is needed for pnpm diff: ${result.error.message}`);
  return 0; // git exits 1 when there are differences, which is the point
}

function reset(exercise: ExerciseInfo): number {
  for (const args of [
    ['checkout', 'HEAD', '--', exercise.exercise],
    ['clean', '-fdq', '--', exercise.exercise],
  ]) {
    const result = spawnSync('git', args, { cwd: ROOT, stdio: 'inherit' });
    if (result.error || result.status !== 0) {
      throw new UsageError(`could not restore ${exercise.exercise} with git ${args.join(' ')}`);
    }
  }
  console.log(`${exercise.exercise} is back to its starting point.`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    const { ServersUnavailableError } = await import('./servers/index.ts');
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(
        `port ${process.env.PORT ?? 3000} is in use (another shop still running?): stop it, or pick another, e.g. PORT=3001 pnpm ${command} ${positional.join(' ')}`.trim(),
      );
      process.exit(2);
    }
    if (error instanceof UsageError || error instanceof ServersUnavailableError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  },
);

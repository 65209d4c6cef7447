import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ExerciseInfo {
  /** Two digits, e.g. "01". */
  readonly number: string;
  readonly slug: string;
  readonly title: string;
  /** Paths relative to the repository root. */
  readonly exercise: string;
  readonly solution: string;
}

/** Every exercise that has a starting point, in order. */
export function listExercises(): ExerciseInfo[] {
  return readdirSync(path.join(ROOT, 'exercises'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d\d-/.test(entry.name))
    .map((entry) => {
      const number = entry.name.slice(0, 2);
      const slug = entry.name.slice(3);
      return {
        number,
        slug,
        title: titleOf(path.join(ROOT, 'exercises', entry.name, 'README.md')) ?? slug,
        exercise: `exercises/${entry.name}`,
        solution: `solutions/${entry.name}`,
      };
    })
    .sort((a, b) => a.number.localeCompare(b.number));
}

/** The exercise `NN` (or `N`); a clear error naming the ones that exist otherwise. */
export function findExercise(number: string | undefined): ExerciseInfo {
  const all = listExercises();
  const wanted = number?.padStart(2, '0');
  const found = all.find((e) => e.number === wanted);
  if (!found) {
    const known = all.map((e) => e.number).join(', ');
    throw new UsageError(
      number === undefined
        ? `which exercise? Give its number, one of: ${known}`
        : `there is no exercise ${number}; there are: ${known}`,
    );
  }
  return found;
}

/** A command used the wrong way: said in one line, without a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function titleOf(readme: string): string | undefined {
  if (!existsSync(readme)) return undefined;
  const heading = readFileSync(readme, 'utf8').match(/^#\s+(.+)$/m)?.[1];
  return heading?.replace(/^\d+\.?\s*[—–-]?\s*/, '').trim();
}

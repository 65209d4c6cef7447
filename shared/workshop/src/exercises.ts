import { type ExerciseInfo, listExercises } from './exerciseList.mjs';

export { type ExerciseInfo, listExercises, printExercises, ROOT } from './exerciseList.mjs';

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

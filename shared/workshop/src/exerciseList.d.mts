/** The repository's root folder. */
export declare const ROOT: string;

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
export declare function listExercises(): ExerciseInfo[];

/** Prints the list (`pnpm exercises`), or its JSON with `json`. */
export declare function printExercises(json?: boolean): void;

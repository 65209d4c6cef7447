import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isEmbedded } from '@pierogi/shared/testing';
import { describe, expect, inject, it } from 'vitest';
import { checkFileOf, runCheck } from '../src/checkRunner.ts';
import { type ExerciseInfo, listExercises, ROOT } from '../src/exercises.ts';

/**
 * Both directions, for every exercise: its check fails on the starting point — for the recorded
 * reasons, not because something crashed — and passes on the solution.
 */
const expectedFailures = (exercise: ExerciseInfo): string[] =>
  JSON.parse(
    readFileSync(
      path.join(ROOT, checkFileOf(exercise).replace(/\.check\.ts$/, '.expected-failures.json')),
      'utf8',
    ),
  ) as string[];

/** The checks run on this run's servers: real ones, or the embedded ones the `embedded` project starts. */
const servers = { AMQP_URL: inject('amqpUrl'), DATABASE_URL: inject('databaseUrl') };

/** Exercises whose check runs shops of its own: in the embedded project, not beside the others. */
const ALONE_ON_EMBEDDED = new Set(['15']);

/**
 * Exercises whose check uses no server at all (the interleaving explorer, the model checker): the
 * `servers` project runs them; the embedded project would only run the same thing again.
 */
const NO_SERVERS = new Set(['16', '17']);

/** The test files the exercises are shared between: they run side by side. */
const PARTS = 4;

/**
 * The two-way test of the exercises in `part` (of {@link PARTS}, in the order of the list, so
 * that the test files share the work and run side by side).
 */
export function twoWay(part: 1 | 2 | 3 | 4): void {
  const all = listExercises();
  const size = Math.ceil(all.length / PARTS);
  const mine = all.slice((part - 1) * size, part * size);
  describe(`every exercise (part ${part} of ${PARTS}): the check fails on its starting point and passes on its solution`, () => {
    it.runIf(part === 1)(
      'lists exercises in order, each with a title, an exercise and a solution folder',
      () => {
        const all = listExercises();
        expect(all[0]?.number).toBe('01');
        expect(all.map((e) => e.number)).toEqual([...new Set(all.map((e) => e.number))].sort());
        for (const e of all) {
          expect(e.title, `${e.exercise}/README.md starts with a title`).not.toBe(e.slug);
          expect(existsSync(path.join(ROOT, e.solution)), `${e.solution} exists`).toBe(true);
        }
      },
    );

    for (const exercise of mine) {
      // Check 15 starts shops of its own in a child test run; on the one session of the embedded
      // database, shared here with every other test file running at the same time, its waits
      // outlast their deadlines. Alone (`WORKSHOP_SERVERS=embedded pnpm check 15`) it holds.
      const crowded = isEmbedded('postgres') && ALONE_ON_EMBEDDED.has(exercise.number);
      const again = isEmbedded('postgres') && NO_SERVERS.has(exercise.number);
      const skipped = crowded
        ? ' — skipped here: on the embedded database it runs alone, not beside the other test files'
        : again
          ? ' — skipped here: its check uses no server, and the servers project runs it'
          : '';
      (skipped ? describe.skip : describe)(`${exercise.number} ${exercise.slug}${skipped}`, () => {
        it('fails on the starting point, exactly the recorded checks', async () => {
          const outcome = await runCheck(exercise, 'exercise', 'quiet', servers);
          expect(outcome.passed).toBe(false);
          expect(outcome.failed.sort()).toEqual(expectedFailures(exercise).sort());
        }, 120_000);

        it('passes on the solution', async () => {
          const outcome = await runCheck(exercise, 'solution', 'quiet', servers);
          expect(outcome.failed).toEqual([]);
          expect(outcome.passedNames.length).toBeGreaterThan(0);
          expect(outcome.passed).toBe(true);
        }, 120_000);
      });
    }
  });
}

import { runCommand } from '@pierogi/shared/testing';
import { describe, expect, it } from 'vitest';
import { listExercises, ROOT } from '../src/exercises.ts';

describe('pnpm exercises', () => {
  it('prints every exercise with its title and folder, from Node alone', async () => {
    const { code, output } = await runCommand('node', ['shared/workshop/src/exerciseList.mjs'], {
      cwd: ROOT,
    });
    expect(code, output).toBe(0);
    for (const e of listExercises()) {
      expect(output).toMatch(new RegExp(`^${e.number} {2}.*${e.exercise}$`, 'm'));
    }
    expect(output).toContain('pnpm exercise NN');
  });

  it('--json gives the same list the commands use', async () => {
    const { code, output } = await runCommand(
      'node',
      ['shared/workshop/src/exerciseList.mjs', '--json'],
      { cwd: ROOT },
    );
    expect(code, output).toBe(0);
    expect(JSON.parse(output)).toEqual(listExercises());
  });
});

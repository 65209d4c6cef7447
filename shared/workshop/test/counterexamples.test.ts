import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  COUNTEREXAMPLES_DIR,
  counterexamplePanel,
  recordCounterexample,
  recordHolds,
} from '../src/counterexamples.ts';

const folder = `exercises/99-test-${process.pid}`;

describe('the last counterexample of a check, for the page of `pnpm exercise NN`', () => {
  afterAll(() =>
    rm(path.join(COUNTEREXAMPLES_DIR, `exercises-99-test-${process.pid}.json`), { force: true }),
  );

  it('none before a check ran; then the counterexample; then that the code holds', async () => {
    expect(await counterexamplePanel(folder)).toBeUndefined();
    await recordCounterexample(folder, {
      title: 'two copies',
      invariant: 'no lost messages',
      steps: [{ actor: 'copy A', to: 'broker', action: 'publishes ItemAdded' }],
    });
    expect(await counterexamplePanel(folder)).toMatchObject({
      invariant: 'no lost messages',
      text: expect.stringContaining('1. copy A → broker: publishes ItemAdded'),
      svg: expect.stringMatching(/^<svg/),
      foundAt: expect.any(String),
    });
    await recordHolds(folder, 'every one of 1,234 executions keeps every invariant');
    expect(await counterexamplePanel(folder)).toMatchObject({
      title: expect.stringMatching(/found none/),
      message: expect.stringMatching(/^every one of 1,234 executions/),
    });
  });
});

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeOn, type Isolation, isolate, runCommand, waitFor } from '@pierogi/shared/testing';
import { AddItem, loadShopCode, type RunningShop, runShop } from '@pierogi/shop';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { listExercises } from '../src/exercises.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * `pnpm errors` against the reference shop (the one `pnpm start` runs), on real servers: a
 * message that exhausts its retries waits in the error queue, is listed with its reason, and
 * comes back, applied once, when sent back.
 */
describeOn('rabbitmq', 'pnpm errors', () => {
  let iso: Isolation | undefined;
  let shop: RunningShop | undefined;

  beforeAll(async () => {
    iso = await isolate({
      label: 'pnpm errors',
      amqpUrl: inject('amqpUrl'),
      databaseUrl: inject('databaseUrl'),
    });
    const latest = listExercises().at(-1);
    if (!latest) throw new Error('no solution to run');
    shop = await runShop({
      code: await loadShopCode(path.join(repoRoot, latest.solution)),
      amqpUrl: iso.amqpUrl,
      databaseUrl: iso.databaseUrl,
      schema: iso.schema,
      prefix: `${iso.prefix}.`,
      onDeclare: (name) => iso?.track(name),
      recoverability: { immediateRetries: 1, delayedRetriesMs: [20] },
    });
  });
  afterAll(async () => {
    await shop?.close();
    await iso?.cleanup();
  });

  const errors = (...args: string[]) =>
    runCommand('pnpm', ['errors', ...args], {
      cwd: repoRoot,
      env: {
        NO_COLOR: '1',
        AMQP_URL: iso?.amqpUrl,
        DATABASE_URL: iso?.databaseUrl,
        SHOP_SCHEMA: iso?.schema,
        SHOP_PREFIX: `${iso?.prefix}.`,
      },
    });

  it('lists a message that gave up, with why; retry brings it back and it is applied once', async () => {
    const running = shop as RunningShop;
    // Every save of an order with Strawberry fails: the AddItem exhausts its retries.
    const rule = running.chaos.add({
      kind: 'fail-commit',
      step: 'commit',
      field: { path: 'filling', equals: 'Strawberry' },
    });
    await running.endpoints.frontend.send(AddItem, { orderId: 'o-err', filling: 'Meat' });
    await running.endpoints.frontend.send(AddItem, { orderId: 'o-err', filling: 'Strawberry' });
    await waitFor(async () => (await running.failed?.count()) === 1, {
      what: 'the Strawberry in the error queue',
    });

    const listed = await errors();
    expect(listed.code, listed.output).toBe(0);
    expect(listed.output).toMatch(/1 message\(s\) in the error queue/);
    expect(listed.output).toMatch(/AddItem\s+at orders\s+4 attempt\(s\)/);
    expect(listed.output).toContain('handler-failed: chaos: commit failed for AddItem');
    const id = /^\s*(\d+)\s+AddItem/m.exec(listed.output)?.[1] ?? '';

    const shown = await errors('show', id);
    expect(shown.output).toContain('"filling":"Strawberry"');
    expect(shown.output).toContain('x-source-endpoint: orders');

    running.chaos.remove(rule); // the fault is gone
    const retried = await errors('retry', id);
    expect(retried.code, retried.output).toBe(0);
    await waitFor(async () => (await running.orders.load('o-err')).value?.lines.length === 2, {
      what: 'the Strawberry added once sent back',
    });
    expect((await running.orders.load('o-err')).value?.lines).toEqual(['Meat', 'Strawberry']);
    await waitFor(async () => (await running.bills.load('o-err')).value?.items === 2, {
      what: 'billing to charge it',
    });
    expect((await running.bills.load('o-err')).value?.total).toBe(1_200 + 1_300);
    expect((await errors()).output).toMatch(/error queue of .* is empty/);
  });

  it('says what it needs, and refuses what it does not know', async () => {
    const [help, noId, unknown, badAction] = await Promise.all([
      errors('--help'),
      errors('retry'),
      errors('show', '999999'),
      errors('explode'),
    ]);
    expect(help.code).toBe(0);
    expect(help.output).toContain('pnpm errors retry --all');
    expect(noId.code).toBe(2);
    expect(noId.output).toContain('needs the id of a failed message');
    expect(unknown.code).toBe(1);
    expect(unknown.output).toContain('there is no failed message 999999');
    expect(badAction.code).toBe(2);
    expect(badAction.output).toContain('unknown action explode');
  });
});

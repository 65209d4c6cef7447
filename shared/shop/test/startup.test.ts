import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  describeOn,
  type Isolation,
  isolate,
  startTcpProxy,
  waitFor,
} from '@pierogi/shared/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { runShop } from '../src/runShop.ts';
import { loadShopCode } from '../src/shopCode.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** A logger whose lines a test can read. */
function recordingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describeOn(
  'rabbitmq',
  'start-up waits for servers that are not there yet, for a bounded time',
  () => {
    let iso: Isolation | undefined;
    beforeAll(async () => {
      iso = await isolate({
        label: 'startup',
        amqpUrl: inject('amqpUrl'),
        databaseUrl: inject('databaseUrl'),
      });
    });
    afterAll(async () => {
      await iso?.cleanup();
    });

    it('a database that refuses connections at first: it says what it waits for, then starts', async () => {
      const database = new URL(iso?.databaseUrl as string);
      const proxy = await startTcpProxy(database.hostname, Number(database.port || 5432));
      await proxy.cut(); // refused, as a database restarting is
      const viaProxy = new URL(database);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const { logger, lines } = recordingLogger();
      const starting = runShop({
        code: await loadShopCode(path.join(repoRoot, 'solutions/01-first-handler')),
        amqpUrl: iso?.amqpUrl as string,
        databaseUrl: viaProxy.toString(),
        schema: iso?.schema as string,
        prefix: `${iso?.prefix}.`,
        onDeclare: (name) => iso?.track(name),
        logger,
      });
      try {
        await waitFor(() => lines.some((l) => l.includes('waiting for the database at')), {
          what: 'start-up to say it waits for the database',
        });
        await proxy.restore();
        const shop = await starting;
        await shop.close();
        expect(lines.join('')).toMatch(
          /waiting for the database at postgres(ql)?:\/\/[^"]*:\d+\/[^ ]* \(/,
        );
      } finally {
        await starting.then((shop) => shop.close()).catch(() => {});
        await proxy.close();
      }
    });

    it('a wrong password is not waited for: it fails at once, saying why', async () => {
      const database = new URL(iso?.databaseUrl as string);
      database.username = 'nobody_here';
      database.password = 'wrong';
      const { logger, lines } = recordingLogger();
      await expect(
        runShop({
          code: await loadShopCode(path.join(repoRoot, 'solutions/01-first-handler')),
          amqpUrl: iso?.amqpUrl as string,
          databaseUrl: database.toString(),
          schema: iso?.schema as string,
          startupTimeoutMs: 20_000,
          logger,
        }),
      ).rejects.toThrow(/nobody_here|password|authentication|role/);
      expect(
        lines.filter((l) => l.includes('waiting for')),
        'no wait',
      ).toEqual([]);
    });
  },
);

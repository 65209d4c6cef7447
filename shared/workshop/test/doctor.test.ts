import { fileURLToPath } from 'node:url';
import { closedPort, describeOn, runCommand } from '@pierogi/shared/testing';
import { expect, inject, it } from 'vitest';
import { sniffPort } from '../src/portSniff.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs `pnpm doctor` from the repository root, the way an attendee does. */
const runDoctor = (env: Record<string, string>) =>
  runCommand('pnpm', ['doctor'], { cwd: repoRoot, env: { NO_COLOR: '1', ...env } });

const portOf = (url: string) => Number(new URL(url).port);
/** The doctor looks at this machine's ports: only meaningful when the servers run here. */
const serversAreLocal = [inject('amqpUrl'), inject('databaseUrl')].every((url) =>
  ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname),
);

describeOn('rabbitmq', 'pnpm doctor', () => {
  it('exits non-zero and names the address when the broker cannot be reached', async () => {
    const { code, output } = await runDoctor({
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
      DATABASE_URL: inject('databaseUrl'),
    });
    expect(code, output).toBe(1);
    expect(output).toContain(
      '✘ RabbitMQ    cannot reach the broker at amqp://guest:***@127.0.0.1:1: connection refused',
    );
    expect(output).toContain('AMQP_URL is set: correct it');
    expect(output).not.toContain('guest:guest@');
    expect(output).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack trace
  });

  it('reports the broker and the database as reachable when they are up', async () => {
    const { output } = await runDoctor({
      AMQP_URL: inject('amqpUrl'),
      DATABASE_URL: inject('databaseUrl'),
    });
    expect(output).toMatch(/✔ RabbitMQ {4}RabbitMQ \S+ at amqp:/);
    expect(output).toMatch(/✔ Postgres {4}PostgreSQL \S+ at postgres:/);
    expect(output).toMatch(/✔ Node\.js/);
  });
});

describeOn('rabbitmq', 'port sniffing', () => {
  it.skipIf(!serversAreLocal)(
    'tells a free port from RabbitMQ, Postgres and something else',
    async () => {
      const amqpPort = portOf(inject('amqpUrl'));
      const pgPort = portOf(inject('databaseUrl'));
      expect(await sniffPort(await closedPort(), 'rabbitmq')).toBe('free');
      expect(await sniffPort(amqpPort, 'rabbitmq')).toBe('rabbitmq');
      expect(await sniffPort(pgPort, 'postgres')).toBe('postgres');
      expect(await sniffPort(pgPort, 'rabbitmq')).toBe('other');
      expect(await sniffPort(amqpPort, 'postgres')).toBe('other');
    },
  );
});

import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { maskUrl } from '@pierogi/shared';
import { describeOn } from '@pierogi/shared/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { probeBroker, probeDatabase, urlProblem } from '../src/servers/index.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Accepts connections and never says a word. */
const silentServer = () => listen(createServer((socket) => void sockets.push(socket)));

describeOn('rabbitmq', 'probing a server', () => {
  it('a server that accepts but never answers is reported as not answering, not waited for', async () => {
    const port = await silentServer();
    const broker = await probeBroker(`amqp://guest:guest@127.0.0.1:${port}`, 300);
    const database = await probeDatabase(
      `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
      300,
    );
    expect(broker).toEqual({ ok: false, reason: 'no answer within 0.3 s', failure: 'unreachable' });
    expect(database).toEqual({
      ok: false,
      reason: 'no answer within 0.3 s',
      failure: 'unreachable',
    });
  });

  it('a web server on the broker port is named as not speaking AMQP', async () => {
    const port = await listen(createHttpServer((_, res) => res.end('hello')) as unknown as Server);
    const result = await probeBroker(`amqp://guest:guest@127.0.0.1:${port}`, 2000);
    expect(result.ok).toBe(false);
    expect(result.ok ? undefined : result.failure).toBe('wrong-server');
  });

  it('a wrong password is told apart from an unreachable broker', async () => {
    const url = new URL(inject('amqpUrl'));
    url.password = 'certainly-not-the-password';
    const result = await probeBroker(url.toString(), 3000);
    expect(result).toMatchObject({ ok: false, failure: 'refused-login' });
  });

  it('a database that does not exist is a refused login, with its name', async () => {
    const url = new URL(inject('databaseUrl'));
    url.pathname = '/no_such_database_here';
    const result = await probeDatabase(url.toString(), 3000);
    expect(result).toMatchObject({ ok: false, failure: 'refused-login' });
    expect(result.ok ? '' : result.reason).toContain('no_such_database_here');
  });

  it('reachable servers report product and version', async () => {
    expect(await probeBroker(inject('amqpUrl'))).toMatchObject({
      ok: true,
      server: expect.stringMatching(/^RabbitMQ \d/),
    });
    expect(await probeDatabase(inject('databaseUrl'))).toMatchObject({
      ok: true,
      server: expect.stringMatching(/^PostgreSQL \d/),
    });
  });
});

describe('server URLs', () => {
  it('are checked before anything connects', () => {
    expect(urlProblem('broker', 'amqp://guest:guest@127.0.0.1:5672')).toBeUndefined();
    expect(urlProblem('database', 'postgresql://u:p@db:5432/x')).toBeUndefined();
    expect(urlProblem('broker', 'garbage')).toMatch(/^not a URL/);
    expect(urlProblem('broker', 'http://127.0.0.1:5672')).toContain('must start with amqp://');
    expect(urlProblem('database', 'amqp://127.0.0.1')).toContain('must start with postgres://');
  });

  it('show no password, with or without a scheme', () => {
    expect(maskUrl('amqp://guest:s3cret@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(maskUrl('guest:s3cret@127.0.0.1:5672')).toBe('guest:***@127.0.0.1:5672');
    expect(maskUrl('amqp://guest:s3cret@127.0.0.1:99999')).toBe('amqp://guest:***@127.0.0.1:99999');
    expect(maskUrl('postgres://postgres@127.0.0.1/db')).toBe('postgres://postgres@127.0.0.1/db');
  });

  it('an invalid URL is reported by the probe without connecting', async () => {
    expect(await probeBroker('guest:s3cret@127.0.0.1:5672')).toMatchObject({
      ok: false,
      failure: 'invalid-url',
    });
  });
});

import { readFileSync } from 'node:fs';
import { maskUrl } from '@pierogi/shared';
import { closedPort, isEmbedded } from '@pierogi/shared/testing';
import { describe, expect, inject, it } from 'vitest';
import {
  DEFAULT_AMQP_URL,
  DEFAULT_DATABASE_URL,
  discoverServers,
  POSTGRES_IMAGE,
  RABBITMQ_IMAGE,
  ServersUnavailableError,
} from '../src/servers/index.ts';

const noDocker = async () => false;

describe('server discovery', () => {
  it.skipIf(isEmbedded('rabbitmq'))(
    'uses AMQP_URL and DATABASE_URL when they are set',
    async () => {
      const servers = await discoverServers({
        env: { AMQP_URL: inject('amqpUrl'), DATABASE_URL: inject('databaseUrl') },
        dockerEngineAvailable: noDocker,
      });
      expect(servers.sources).toEqual({ broker: 'environment', database: 'environment' });
      expect(servers.amqpUrl).toBe(inject('amqpUrl'));
      expect(servers.databaseUrl).toBe(inject('databaseUrl'));
    },
  );

  it.skipIf(isEmbedded('rabbitmq'))(
    'finds servers on localhost when no variable is set',
    async () => {
      const servers = await discoverServers({
        env: {},
        localUrls: { broker: inject('amqpUrl'), database: inject('databaseUrl') },
        dockerEngineAvailable: noDocker,
      });
      expect(servers.sources).toEqual({ broker: 'localhost', database: 'localhost' });
    },
  );

  it('an unreachable AMQP_URL is an error naming it with the password masked, not a silent fallback', async () => {
    const port = await closedPort();
    const error = await discoverServers({
      env: {
        AMQP_URL: `amqp://guest:s3cret@127.0.0.1:${port}`,
        DATABASE_URL: inject('databaseUrl'),
      },
      localUrls: { broker: inject('amqpUrl'), database: inject('databaseUrl') },
      dockerEngineAvailable: noDocker,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServersUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain(`AMQP_URL is set to amqp://guest:***@127.0.0.1:${port}`);
    expect(message).toContain('connection refused');
    expect(message).not.toContain('s3cret');
  });

  it('in local mode, with nothing reachable, the error names the ways to get servers', async () => {
    const [amqpPort, pgPort] = [await closedPort(), await closedPort()];
    const error = await discoverServers({
      env: { WORKSHOP_SERVERS: 'local' },
      localUrls: {
        broker: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
        database: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres`,
      },
      dockerEngineAvailable: noDocker,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServersUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain(`no RabbitMQ at amqp://guest:***@127.0.0.1:${amqpPort}`);
    expect(message).toContain(
      `no Postgres at postgres://postgres:***@127.0.0.1:${pgPort}/postgres`,
    );
    expect(message).toContain('docker compose up -d --wait');
    expect(message).toContain('install RabbitMQ and Postgres locally');
    expect(message).toContain('set AMQP_URL and DATABASE_URL');
    expect(message).toContain('WORKSHOP_SERVERS=embedded');
  });

  it('in auto mode, with nothing reachable and no Docker engine, it runs embedded and says so', async () => {
    const [amqpPort, pgPort] = [await closedPort(), await closedPort()];
    const started: string[] = [];
    const servers = await discoverServers({
      env: {},
      localUrls: {
        broker: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
        database: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres`,
      },
      dockerEngineAvailable: noDocker,
      startEmbedded: async (kind) => {
        started.push(kind);
        return {
          url: kind === 'broker' ? 'memory://' : inject('databaseUrl'),
          stop: async () => {},
        };
      },
    });
    expect(servers.sources).toEqual({ broker: 'embedded', database: 'embedded' });
    expect(started.sort()).toEqual(['broker', 'database']);
    expect(servers.amqpUrl).toBe('memory://');
    expect(servers.banner).toMatch(/^Embedded mode \(no RabbitMQ or Postgres found\): /);
    expect(servers.banner).toContain('what it cannot show: ');
  });

  it('WORKSHOP_SERVERS=embedded runs embedded even where servers answer', async () => {
    const servers = await discoverServers({
      env: { WORKSHOP_SERVERS: 'embedded', AMQP_URL: inject('amqpUrl') },
      localUrls: { broker: inject('amqpUrl'), database: inject('databaseUrl') },
      dockerEngineAvailable: noDocker,
      startEmbedded: async (kind) => ({
        url: kind === 'broker' ? 'memory://' : inject('databaseUrl'),
        stop: async () => {},
      }),
    });
    expect(servers.sources).toEqual({ broker: 'embedded', database: 'embedded' });
    expect(servers.banner).toContain('WORKSHOP_SERVERS=embedded');
  });

  it('an unknown WORKSHOP_SERVERS is refused, naming the modes', async () => {
    const error = await discoverServers({ env: { WORKSHOP_SERVERS: 'cloud' } }).catch((e) => e);
    expect(error).toBeInstanceOf(ServersUnavailableError);
    expect((error as Error).message).toContain('use one of auto, local, containers, embedded');
  });

  it('falls back to a container when nothing answers locally and a Docker engine does', async () => {
    const [amqpPort, pgPort] = [await closedPort(), await closedPort()];
    const stopped: string[] = [];
    const servers = await discoverServers({
      env: {},
      localUrls: {
        broker: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
        database: `postgres://postgres:postgres@127.0.0.1:${pgPort}/postgres`,
      },
      dockerEngineAvailable: async () => true,
      startContainer: async (kind) => ({
        url: kind === 'broker' ? inject('amqpUrl') : inject('databaseUrl'),
        stop: async () => void stopped.push(kind),
      }),
    });
    expect(servers.sources).toEqual({ broker: 'testcontainers', database: 'testcontainers' });
    await servers.stop();
    expect(stopped.sort()).toEqual(['broker', 'database']);
  });

  it('the defaults point at the standard local ports', () => {
    expect(DEFAULT_AMQP_URL).toBe('amqp://guest:guest@127.0.0.1:5672');
    expect(DEFAULT_DATABASE_URL).toBe('postgres://postgres:postgres@127.0.0.1:5432/postgres');
    expect(maskUrl(DEFAULT_DATABASE_URL)).toBe('postgres://postgres:***@127.0.0.1:5432/postgres');
  });

  it('docker-compose.yml runs the same images as the Testcontainers fallback', () => {
    const compose = readFileSync(new URL('../../../docker-compose.yml', import.meta.url), 'utf8');
    const images = [...compose.matchAll(/^\s*image:\s*(\S+)\s*$/gm)].map((m) => m[1]);
    expect(images.sort()).toEqual([POSTGRES_IMAGE, RABBITMQ_IMAGE].sort());
  });
});

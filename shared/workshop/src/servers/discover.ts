import { maskUrl } from '@pierogi/shared';
import { DEFAULT_PROBE_TIMEOUT_MS, type ProbeResult, probeBroker, probeDatabase } from './probe.ts';
import { dockerEngineAvailable, type StartedServer, startContainer } from './testcontainers.ts';
import { DEFAULT_URL, ENV_VARIABLE, type ServerKind, urlFromEnv } from './urls.ts';

export type ServerSource = 'environment' | 'localhost' | 'testcontainers';

export interface DiscoveredServers {
  amqpUrl: string;
  databaseUrl: string;
  sources: Record<ServerKind, ServerSource>;
  /** Stops the containers this discovery started; does nothing for servers it only found. */
  stop(): Promise<void>;
}

export interface DiscoverOptions {
  env?: NodeJS.ProcessEnv;
  /** Where to look on this machine; defaults to the standard ports on 127.0.0.1. */
  localUrls?: Record<ServerKind, string>;
  timeoutMs?: number;
  dockerEngineAvailable?: () => Promise<boolean>;
  startContainer?: (kind: ServerKind) => Promise<StartedServer>;
}

/** No way to reach a server was found; the message lists every way to get one. */
export class ServersUnavailableError extends Error {
  override name = 'ServersUnavailableError';
}

const PROBES: Record<ServerKind, (url: string, timeoutMs: number) => Promise<ProbeResult>> = {
  broker: probeBroker,
  database: probeDatabase,
};

const PRODUCT: Record<ServerKind, string> = { broker: 'RabbitMQ', database: 'Postgres' };

/**
 * Finds RabbitMQ and Postgres, in this order for each:
 * 1. `AMQP_URL` / `DATABASE_URL` when set (an unreachable one is an error, never skipped: the
 *    person who set it meant it);
 * 2. a server answering on localhost at the default port;
 * 3. a Testcontainers container, when a Docker engine is available;
 * otherwise a {@link ServersUnavailableError} that names the three ways to get a server.
 */
export async function discoverServers(options: DiscoverOptions = {}): Promise<DiscoveredServers> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const localUrls = options.localUrls ?? DEFAULT_URL;
  const hasDocker = memo(options.dockerEngineAvailable ?? dockerEngineAvailable);
  const start = options.startContainer ?? startContainer;

  const find = async (kind: ServerKind): Promise<Found> => {
    const fromEnv = urlFromEnv(kind, env);
    if (fromEnv) {
      const probe = await PROBES[kind](fromEnv, timeoutMs);
      if (probe.ok) return { url: fromEnv, source: 'environment' };
      return {
        problem:
          `${ENV_VARIABLE[kind]} is set to ${maskUrl(fromEnv)}, but ${PRODUCT[kind]} cannot be ` +
          `reached there: ${probe.reason}. Fix or unset ${ENV_VARIABLE[kind]}.`,
      };
    }
    const local = await PROBES[kind](localUrls[kind], timeoutMs);
    if (local.ok) return { url: localUrls[kind], source: 'localhost' };
    if (await hasDocker()) {
      const container = await start(kind);
      return { url: container.url, source: 'testcontainers', stop: container.stop };
    }
    return {
      problem: `no ${PRODUCT[kind]} at ${maskUrl(localUrls[kind])} (${local.reason}) and no Docker engine for Testcontainers.`,
    };
  };

  const results = await Promise.allSettled([find('broker'), find('database')]);
  const found = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = async () => {
    await Promise.allSettled(found.map((f) => ('stop' in f && f.stop ? f.stop() : undefined)));
  };

  const [broker, database] = results;
  if (broker?.status === 'fulfilled' && database?.status === 'fulfilled') {
    const b = broker.value;
    const d = database.value;
    if ('url' in b && 'url' in d) {
      return {
        amqpUrl: b.url,
        databaseUrl: d.url,
        sources: { broker: b.source, database: d.source },
        stop: stopAll,
      };
    }
  }
  await stopAll();
  const problems = results.map((r) =>
    r.status === 'rejected'
      ? `could not start a container: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`
      : 'problem' in r.value
        ? r.value.problem
        : undefined,
  );
  throw new ServersUnavailableError(
    [
      'RabbitMQ and Postgres are needed, and not both could be found:',
      ...problems.filter((p): p is string => p !== undefined).map((p) => `  - ${p}`),
      'Get them in one of three ways:',
      '  1. docker compose up -d --wait        (uses docker-compose.yml in the repository root)',
      '  2. install RabbitMQ and Postgres locally on their default ports (5672, 5432)',
      '  3. set AMQP_URL and DATABASE_URL to servers you already have',
      'Then run `pnpm doctor` to check.',
    ].join('\n'),
  );
}

type Found =
  | { url: string; source: ServerSource; stop?: () => Promise<void> }
  | { problem: string };

function memo<T>(fn: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= fn();
    return value;
  };
}

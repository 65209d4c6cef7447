import { isMemoryBrokerUrl, maskUrl } from '@pierogi/shared';
import { EMBEDDED_LIMITS, type StartedEmbedded, startEmbedded } from './embedded.ts';
import { DEFAULT_PROBE_TIMEOUT_MS, type ProbeResult, probeBroker, probeDatabase } from './probe.ts';
import { dockerEngineAvailable, type StartedServer, startContainer } from './testcontainers.ts';
import { DEFAULT_URL, ENV_VARIABLE, type ServerKind, urlFromEnv } from './urls.ts';

export type ServerSource = 'environment' | 'localhost' | 'testcontainers' | 'embedded';

/**
 * Where the servers come from, set with `WORKSHOP_SERVERS`:
 * - `auto` (the default): `AMQP_URL`/`DATABASE_URL`, else servers on localhost, else
 *   Testcontainers where a Docker engine runs, else embedded;
 * - `local`: `AMQP_URL`/`DATABASE_URL` or localhost, nothing else;
 * - `containers`: Testcontainers, always;
 * - `embedded`: PGlite in this process and the in-memory broker, even where servers answer.
 */
export const SERVER_MODES = ['auto', 'local', 'containers', 'embedded'] as const;
export type ServerMode = (typeof SERVER_MODES)[number];

/** The mode `WORKSHOP_SERVERS` asks for (`auto` when unset), or an error naming the choices. */
export function serverMode(env: NodeJS.ProcessEnv = process.env): ServerMode {
  const value = env.WORKSHOP_SERVERS?.trim().toLowerCase() || 'auto';
  if ((SERVER_MODES as readonly string[]).includes(value)) return value as ServerMode;
  throw new ServersUnavailableError(
    `WORKSHOP_SERVERS=${env.WORKSHOP_SERVERS} is not a mode: use one of ${SERVER_MODES.join(', ')}`,
  );
}

export interface DiscoveredServers {
  amqpUrl: string;
  databaseUrl: string;
  sources: Record<ServerKind, ServerSource>;
  /**
   * One line saying what runs embedded and what that cannot show; undefined when both servers
   * are real.
   */
  banner: string | undefined;
  /**
   * Calls `lost` if a server this run depends on goes for good: the embedded database joined from
   * another workshop command, when that command stops. Nothing for other servers.
   */
  whenGone(lost: (why: string) => void): void;
  /** Stops the containers and embedded servers this discovery started; not servers it found. */
  stop(): Promise<void>;
}

export interface DiscoverOptions {
  env?: NodeJS.ProcessEnv;
  /** Where to look on this machine; defaults to the standard ports on 127.0.0.1. */
  localUrls?: Record<ServerKind, string>;
  timeoutMs?: number;
  dockerEngineAvailable?: () => Promise<boolean>;
  startContainer?: (kind: ServerKind) => Promise<StartedServer>;
  startEmbedded?: (kind: ServerKind) => Promise<StartedEmbedded>;
  /** Where the embedded database keeps its data; undefined: in memory, for one run. */
  embeddedDataDir?: string;
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
 * Finds RabbitMQ and Postgres as `WORKSHOP_SERVERS` says ({@link ServerMode}); in `auto`, in this
 * order for each:
 * 1. `AMQP_URL` / `DATABASE_URL` when set (an unreachable one is an error, never skipped: the
 *    person who set it meant it);
 * 2. a server answering on localhost at the default port;
 * 3. a Testcontainers container, when a Docker engine is available;
 * 4. embedded: PGlite in this process, the in-memory broker.
 * In `local` mode, when neither of the first two answers, a {@link ServersUnavailableError} names
 * the ways to get a server.
 */
export async function discoverServers(options: DiscoverOptions = {}): Promise<DiscoveredServers> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const localUrls = options.localUrls ?? DEFAULT_URL;
  const hasDocker = memo(options.dockerEngineAvailable ?? dockerEngineAvailable);
  const start = options.startContainer ?? startContainer;
  const mode = serverMode(env);
  const embed =
    options.startEmbedded ??
    ((kind: ServerKind) =>
      startEmbedded(
        kind,
        options.embeddedDataDir === undefined ? {} : { dataDir: options.embeddedDataDir },
      ));

  const find = async (kind: ServerKind): Promise<Found> => {
    if (mode === 'embedded') return embeddedFound(await embed(kind));
    if (mode === 'containers') {
      if (!(await hasDocker())) {
        return {
          problem: `WORKSHOP_SERVERS=containers, but no Docker engine answers for Testcontainers.`,
        };
      }
      const container = await start(kind);
      return { url: container.url, source: 'testcontainers', stop: container.stop };
    }
    const fromEnv = urlFromEnv(kind, env);
    // AMQP_URL=memory:// asks for the in-memory broker (a test run hands it on this way).
    if (fromEnv && kind === 'broker' && isMemoryBrokerUrl(fromEnv)) {
      return { url: fromEnv, source: 'embedded' };
    }
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
    if (mode === 'auto' && (await hasDocker())) {
      const container = await start(kind);
      return { url: container.url, source: 'testcontainers', stop: container.stop };
    }
    if (mode === 'auto') return embeddedFound(await embed(kind));
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
      const sources = { broker: b.source, database: d.source };
      return {
        amqpUrl: b.url,
        databaseUrl: d.url,
        sources,
        banner: bannerFor(sources, mode, options.embeddedDataDir, d.sharedWith),
        whenGone: (lost) => d.whenGone?.(lost),
        stop: stopAll,
      };
    }
  }
  await stopAll();
  const problems = results.map((r) =>
    r.status === 'rejected'
      ? `could not start ${mode === 'embedded' || mode === 'auto' ? 'a server' : 'a container'}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`
      : 'problem' in r.value
        ? r.value.problem
        : undefined,
  );
  throw new ServersUnavailableError(
    [
      'RabbitMQ and Postgres are needed, and not both could be found:',
      ...problems.filter((p): p is string => p !== undefined).map((p) => `  - ${p}`),
      'Get them in one of four ways:',
      '  1. docker compose up -d --wait        (uses docker-compose.yml in the repository root)',
      '  2. install RabbitMQ and Postgres locally on their default ports (5672, 5432)',
      '  3. set AMQP_URL and DATABASE_URL to servers you already have',
      '  4. WORKSHOP_SERVERS=embedded          (no servers: Postgres and the broker in-process)',
      'Then run `pnpm doctor` to check.',
    ].join('\n'),
  );
}

/** The banner of a run where something is embedded. */
function bannerFor(
  sources: Record<ServerKind, ServerSource>,
  mode: ServerMode,
  dataDir: string | undefined,
  sharedWith: string | undefined,
): string | undefined {
  const embedded = (['database', 'broker'] as const).filter((k) => sources[k] === 'embedded');
  if (embedded.length === 0) return undefined;
  const what = embedded
    .map((k) =>
      k === 'database'
        ? `Postgres is PGlite, Postgres compiled to WebAssembly, ${sharedWith ? `in the workshop command with ${sharedWith}: keep that one running` : 'in this process'}`
        : 'the message broker is in memory, in this process',
    )
    .join(', ');
  const why = mode === 'embedded' ? 'WORKSHOP_SERVERS=embedded' : 'no RabbitMQ or Postgres found';
  const data = dataDir && embedded.includes('database') ? `; data in ${dataDir}` : '';
  return `Embedded mode (${why}): ${what}${data}.\nEvery exercise works in it; what it cannot show: ${EMBEDDED_LIMITS}.`;
}

type Found =
  | {
      url: string;
      source: ServerSource;
      stop?: () => Promise<void>;
      sharedWith?: string;
      whenGone?: (lost: (why: string) => void) => void;
    }
  | { problem: string };

function embeddedFound(embedded: StartedEmbedded): Found {
  return {
    url: embedded.url,
    source: 'embedded',
    stop: embedded.stop,
    ...(embedded.sharedWith ? { sharedWith: embedded.sharedWith } : {}),
    ...(embedded.whenGone ? { whenGone: embedded.whenGone } : {}),
  };
}

function memo<T>(fn: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= fn();
    return value;
  };
}

import { execFile } from 'node:child_process';
import { isMemoryBrokerUrl, maskUrl } from '@pierogi/shared';
import { canListen, sniffPort } from './portSniff.ts';
import { EMBEDDED_LIMITS } from './servers/embedded.ts';
import {
  configuredUrl,
  ENV_VARIABLE,
  type ProbeFailure,
  probeBroker,
  probeDatabase,
  type ServerKind,
  type ServerMode,
  serverMode,
  urlFromEnv,
} from './servers/index.ts';
import { dockerEngineAvailable } from './servers/testcontainers.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warning or a failure. */
  fix?: string;
}

export const MIN_NODE = [20, 19, 0] as const;
export const PNPM_MAJOR = 10;

export function checkNode(version = process.versions.node): CheckResult {
  const parts = version.split('.').map(Number);
  const ok = compareVersions(parts, [...MIN_NODE]) >= 0;
  return ok
    ? { name: 'Node.js', status: 'ok', detail: `v${version}` }
    : {
        name: 'Node.js',
        status: 'fail',
        detail: `v${version} is too old; the workshop needs ${MIN_NODE.join('.')} or newer`,
        fix: 'install Node.js 20.19+ or 22 (https://nodejs.org, or `nvm install` in this folder)',
      };
}

export async function checkPnpm(): Promise<CheckResult> {
  const fromAgent = /pnpm\/(\d+\.\d+\.\d+)/.exec(process.env.npm_config_user_agent ?? '')?.[1];
  const version = fromAgent ?? (await commandVersion('pnpm'));
  const fix = 'npm install -g pnpm@10';
  if (!version) return { name: 'pnpm', status: 'fail', detail: 'not found on PATH', fix };
  if (Number(version.split('.')[0]) !== PNPM_MAJOR) {
    return {
      name: 'pnpm',
      status: 'fail',
      detail: `${version}; the workshop uses pnpm ${PNPM_MAJOR}`,
      fix,
    };
  }
  return { name: 'pnpm', status: 'ok', detail: version };
}

const SERVER_NAME: Record<ServerKind, string> = { broker: 'RabbitMQ', database: 'Postgres' };
const START_HINT: Record<ServerKind, string> = {
  broker:
    'start it: `docker compose up -d --wait`, or `rabbitmq-server -detached` for a native install',
  database:
    'start it: `docker compose up -d --wait`, or `pg_ctlcluster <version> main start` for a native install',
};

export async function checkServer(kind: ServerKind, timeoutMs: number): Promise<CheckResult> {
  const url = configuredUrl(kind);
  if (kind === 'broker' && isMemoryBrokerUrl(url)) {
    return {
      name: 'RabbitMQ',
      status: 'ok',
      detail: 'not needed: AMQP_URL asks for the in-memory broker',
    };
  }
  const probe =
    kind === 'broker' ? await probeBroker(url, timeoutMs) : await probeDatabase(url, timeoutMs);
  const name = SERVER_NAME[kind];
  if (probe.ok) return { name, status: 'ok', detail: `${probe.server} at ${maskUrl(url)}` };
  const what = kind === 'broker' ? 'the broker' : 'the database';
  const variable = ENV_VARIABLE[kind];
  const fromEnv = urlFromEnv(kind) !== undefined;
  const fix: Record<ProbeFailure, string> = {
    'invalid-url': `correct ${variable}, or unset it to use ${name} on localhost`,
    'refused-login': LOGIN_HINT[kind],
    'wrong-server': `something other than ${name} answers there: check the host and port${fromEnv ? ` in ${variable}` : ''}`,
    unreachable: fromEnv
      ? `${variable} is set: correct it, or unset it to use ${name} on localhost`
      : `${START_HINT[kind]}; or set ${variable} to a ${name} you have`,
  };
  return {
    name,
    status: 'fail',
    detail: `cannot reach ${what} at ${maskUrl(url)}: ${probe.reason}`,
    fix: fix[probe.failure],
  };
}

const LOGIN_HINT: Record<ServerKind, string> = {
  broker:
    'the broker answers but refuses the login: check user, password and virtual host in AMQP_URL (docker-compose.yml uses guest / guest on /)',
  database:
    'Postgres answers but refuses the login: check user, password and database in DATABASE_URL; on a native Postgres, `sudo -u postgres psql -c "alter user postgres password \'postgres\'"` matches the default',
};

export interface PortExpectation {
  port: number;
  purpose: string;
}

/** Port 3000 must be free for the shop's web page. */
export async function checkShopPort(port = 3000): Promise<CheckResult> {
  const name = `port ${port}`;
  if (await canListen(port)) return { name, status: 'ok', detail: "free for the shop's web page" };
  const occupant = await sniffPort(port, 'http');
  return {
    name,
    status: 'fail',
    detail: `taken by another program (${occupant === 'http' ? 'a web server' : 'not a web server'}); the shop needs it`,
    fix: `find it with \`lsof -i :${port}\` (or \`ss -ltnp\`) and stop it`,
  };
}

/** 5672 and 5432: taken by RabbitMQ / Postgres is what we want; free is fine if the URL points elsewhere. */
export async function checkServerPort(
  kind: ServerKind,
  port: number,
  serverReachable: boolean,
): Promise<CheckResult> {
  const name = `port ${port}`;
  const product = SERVER_NAME[kind];
  const occupant = await sniffPort(port, kind === 'broker' ? 'rabbitmq' : 'postgres');
  if (occupant === (kind === 'broker' ? 'rabbitmq' : 'postgres')) {
    return { name, status: 'ok', detail: `${product} is listening` };
  }
  if (occupant === 'free') {
    return serverReachable
      ? { name, status: 'ok', detail: `free (${product} is reached through ${ENV_VARIABLE[kind]})` }
      : {
          name,
          status: 'warn',
          detail: `free: no ${product} is running on this machine`,
          fix: START_HINT[kind],
        };
  }
  return {
    name,
    status: serverReachable ? 'warn' : 'fail',
    detail: `taken by a program that does not answer as ${product}`,
    fix: `find it with \`lsof -i :${port}\` (or \`ss -ltnp\`); ${product} expects this port`,
  };
}

export async function checkManagementPort(port = 15672): Promise<CheckResult> {
  const name = `port ${port}`;
  const occupant = await sniffPort(port, 'rabbitmq-management');
  if (occupant === 'rabbitmq-management') {
    return {
      name,
      status: 'ok',
      detail: `RabbitMQ management UI at http://localhost:${port} (guest / guest)`,
    };
  }
  return {
    name,
    status: 'warn',
    detail:
      occupant === 'free'
        ? 'free: the RabbitMQ management UI is not running (optional)'
        : 'taken by a program that is not the RabbitMQ management UI (optional)',
    fix:
      occupant === 'free'
        ? 'to browse queues: `docker compose up -d` starts it, or `rabbitmq-plugins enable rabbitmq_management`'
        : `find it with \`lsof -i :${port}\` (or \`ss -ltnp\`)`,
  };
}

/**
 * Which servers the workshop's commands would use (`WORKSHOP_SERVERS`, default `auto`) and why.
 * In `auto`, a server nobody asked for by URL that does not answer is no failure: the commands
 * use a container or the embedded stand-in instead. Returns the mode line and the server
 * results, downgraded where so.
 */
export async function checkMode(
  servers: Record<ServerKind, CheckResult>,
  env: NodeJS.ProcessEnv = process.env,
  hasDocker: () => Promise<boolean> = dockerEngineAvailable,
): Promise<{
  mode: CheckResult;
  servers: Record<ServerKind, CheckResult>;
  /** The servers the commands would run embedded. */
  embedded: ServerKind[];
}> {
  const name = 'servers';
  let mode: ServerMode;
  try {
    mode = serverMode(env);
  } catch (error) {
    return {
      mode: {
        name,
        status: 'fail',
        detail: (error as Error).message,
        fix: 'unset WORKSHOP_SERVERS, or correct it',
      },
      servers,
      embedded: [],
    };
  }
  const kinds = ['broker', 'database'] as const;
  const down = kinds.filter((k) => servers[k].status !== 'ok');
  if (mode === 'embedded') {
    return {
      mode: {
        name,
        status: 'ok',
        detail: `embedded (WORKSHOP_SERVERS=embedded): Postgres as PGlite and an in-memory broker, even where servers answer. Every exercise works; what it cannot show: ${EMBEDDED_LIMITS}`,
      },
      servers: notUsed(servers, kinds, 'not used: WORKSHOP_SERVERS=embedded'),
      embedded: [...kinds],
    };
  }
  if (mode === 'containers') {
    const docker = await hasDocker();
    return {
      mode: docker
        ? {
            name,
            status: 'ok',
            detail:
              'containers (WORKSHOP_SERVERS=containers): Testcontainers starts RabbitMQ and Postgres',
          }
        : {
            name,
            status: 'fail',
            detail: 'WORKSHOP_SERVERS=containers, but no Docker engine answers',
            fix: 'start Docker, or unset WORKSHOP_SERVERS',
          },
      servers: notUsed(servers, kinds, 'not used: WORKSHOP_SERVERS=containers'),
      embedded: [],
    };
  }
  if (down.length === 0) {
    const from = kinds.some((k) => urlFromEnv(k, env)) ? 'AMQP_URL / DATABASE_URL' : 'localhost';
    return {
      mode: { name, status: 'ok', detail: `${mode}: RabbitMQ and Postgres (from ${from})` },
      servers,
      embedded: [],
    };
  }
  // A URL someone set and that does not answer stays a failure, in every mode.
  const stand = down.filter((k) => !urlFromEnv(k, env));
  if (mode === 'local' || stand.length < down.length) {
    const why =
      stand.length < down.length
        ? 'a server named in AMQP_URL / DATABASE_URL must answer'
        : 'RabbitMQ and Postgres must answer on localhost or at AMQP_URL / DATABASE_URL';
    return { mode: { name, status: 'ok', detail: `${mode}: ${why}` }, servers, embedded: [] };
  }
  const docker = await hasDocker();
  const what = stand.map((k) => SERVER_NAME[k]).join(' and ');
  if (docker) {
    return {
      mode: {
        name,
        status: 'ok',
        detail: `auto picks containers for ${what}: none answers here, and a Docker engine does (Testcontainers)`,
      },
      servers: relaxed(servers, stand, 'Testcontainers will start one'),
      embedded: [],
    };
  }
  return {
    mode: {
      name,
      status: 'ok',
      detail: `auto picks embedded for ${what}: none answers here and no Docker engine runs, so the workshop runs on ${stand.map((k) => (k === 'database' ? 'PGlite (Postgres in WebAssembly)' : 'an in-memory broker')).join(' and ')}. Every exercise works; what it cannot show: ${EMBEDDED_LIMITS}. For that: install RabbitMQ and Postgres, or \`docker compose up -d --wait\``,
    },
    servers: notUsed(servers, stand, 'not running here: the embedded stand-in is used'),
    embedded: stand,
  };
}

/** The failures of these kinds, as warnings saying what is used instead. */
function relaxed(
  servers: Record<ServerKind, CheckResult>,
  kinds: readonly ServerKind[],
  instead: string,
): Record<ServerKind, CheckResult> {
  const out = { ...servers };
  for (const kind of kinds) {
    const result = servers[kind];
    if (result.status === 'fail')
      out[kind] = { ...result, status: 'warn', detail: `${result.detail} (${instead})` };
  }
  return out;
}

/** These servers are not used: said so, whatever their probe found. */
function notUsed(
  servers: Record<ServerKind, CheckResult>,
  kinds: readonly ServerKind[],
  why: string,
): Record<ServerKind, CheckResult> {
  const out = { ...servers };
  for (const kind of kinds) out[kind] = { name: servers[kind].name, status: 'ok', detail: why };
  return out;
}

export async function runChecks(timeoutMs = 3000): Promise<CheckResult[]> {
  const [pnpm, brokerFound, databaseFound, shopPort, managementPort] = await Promise.all([
    checkPnpm(),
    checkServer('broker', timeoutMs),
    checkServer('database', timeoutMs),
    checkShopPort(),
    checkManagementPort(),
  ]);
  const { mode, servers, embedded } = await checkMode({
    broker: brokerFound,
    database: databaseFound,
  });
  const { broker, database } = servers;
  const notNeeded = (port: number): CheckResult => ({
    name: `port ${port}`,
    status: 'ok',
    detail: 'not needed: the embedded stand-in is used',
  });
  const [brokerPort, databasePort] = await Promise.all([
    embedded.includes('broker')
      ? notNeeded(5672)
      : checkServerPort('broker', 5672, broker.status === 'ok'),
    embedded.includes('database')
      ? notNeeded(5432)
      : checkServerPort('database', 5432, database.status === 'ok'),
  ]);
  return [
    checkNode(),
    pnpm,
    mode,
    broker,
    database,
    shopPort,
    brokerPort,
    databasePort,
    embedded.includes('broker') ? notNeeded(15672) : managementPort,
  ];
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function commandVersion(command: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, ['--version'], { timeout: 5000 }, (error, stdout) => {
      resolve(error ? undefined : stdout.trim() || undefined);
    });
  });
}

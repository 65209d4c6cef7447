/**
 * Where the servers are. The defaults work both with the repository's docker-compose.yml and
 * with RabbitMQ / Postgres installed natively on the default ports.
 */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

export type ServerKind = 'broker' | 'database';

export const ENV_VARIABLE: Record<ServerKind, string> = {
  broker: 'AMQP_URL',
  database: 'DATABASE_URL',
};

export const DEFAULT_URL: Record<ServerKind, string> = {
  broker: DEFAULT_AMQP_URL,
  database: DEFAULT_DATABASE_URL,
};

/** The URL set in the environment for this kind of server, if any (blank counts as unset). */
export function urlFromEnv(
  kind: ServerKind,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const value = env[ENV_VARIABLE[kind]]?.trim();
  return value ? value : undefined;
}

/** The URL to use when nothing else is known: the environment, else the default. */
export function configuredUrl(kind: ServerKind, env: NodeJS.ProcessEnv = process.env): string {
  return urlFromEnv(kind, env) ?? DEFAULT_URL[kind];
}

/** Why a server URL cannot be used, before anything tries it; undefined when it looks right. */
export function urlProblem(kind: ServerKind, url: string): string | undefined {
  const schemes = kind === 'broker' ? ['amqp:', 'amqps:'] : ['postgres:', 'postgresql:'];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `not a URL (expected ${schemes[0]}//user:password@host:port${kind === 'database' ? '/database' : ''})`;
  }
  if (!schemes.includes(parsed.protocol)) {
    return `the URL starts with "${parsed.protocol}" but must start with ${schemes.map((s) => `${s}//`).join(' or ')}`;
  }
  if (!parsed.hostname) return 'the URL names no host';
  const port = parsed.port ? Number(parsed.port) : undefined;
  if (port !== undefined && (port < 1 || port > 65_535))
    return `port ${parsed.port} is out of range`;
  return undefined;
}

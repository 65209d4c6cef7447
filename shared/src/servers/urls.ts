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

/** A URL fit for logs and error messages: the password is replaced by `***`. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    // Not a URL we can parse: hide anything between "//user:" and "@".
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}

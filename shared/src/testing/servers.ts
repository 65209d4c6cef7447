import { describe, inject } from 'vitest';

type Server = 'rabbitmq' | 'postgres';

const STAND_IN: Record<Server, { kind: 'broker' | 'database'; is: string }> = {
  rabbitmq: { kind: 'broker', is: 'the broker is in memory' },
  postgres: { kind: 'database', is: 'Postgres is PGlite, one session' },
};

/** True when this run's server of that kind is the embedded stand-in, not the real one. */
export function isEmbedded(server: Server): boolean {
  return inject('embedded').includes(STAND_IN[server].kind);
}

/**
 * A suite about the real server itself (a broker that crashes, a connection the database kills,
 * a second process): skipped in a run on the embedded stand-ins, its name saying why.
 */
export function describeOn(server: Server, name: string, suite: () => void): void {
  if (isEmbedded(server)) {
    describe.skip(
      `${name} — needs ${server === 'rabbitmq' ? 'RabbitMQ' : 'Postgres'} (${STAND_IN[server].is} in this run)`,
      suite,
    );
  } else {
    describe(name, suite);
  }
}

import type { TestProject } from 'vitest/node';
import { discoverServers, ServersUnavailableError } from './discover.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    amqpUrl: string;
    databaseUrl: string;
    /** Which servers are the embedded stand-ins (PGlite, the in-memory broker). */
    embedded: ('broker' | 'database')[];
  }
}

/**
 * Runs once per `vitest` run: finds (or starts) RabbitMQ and Postgres — or their embedded
 * stand-ins, as `WORKSHOP_SERVERS` says — and hands their URLs to every test file. What it
 * started is stopped when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  return provideServers(project, process.env);
}

export async function provideServers(
  project: TestProject,
  env: NodeJS.ProcessEnv,
): Promise<() => Promise<void>> {
  const servers = await discoverServers({ env }).catch((error: unknown) => {
    if (!(error instanceof ServersUnavailableError)) throw error;
    // Said plainly, without a stack trace into Vitest: this is a set-up problem, not a bug.
    console.error(`\n${error.message}\n`);
    process.exit(1);
  });
  if (servers.banner) {
    // In a test run, suites that need a real server are skipped; a check (`pnpm check NN`,
    // SHOP_CODE set) skips nothing.
    const skipped = env.SHOP_CODE
      ? ''
      : '\nSuites that need a real server are skipped, each saying so.';
    console.log(`\n${servers.banner}${skipped}\n`);
  }
  project.provide('amqpUrl', servers.amqpUrl);
  project.provide('databaseUrl', servers.databaseUrl);
  project.provide(
    'embedded',
    (['broker', 'database'] as const).filter((kind) => servers.sources[kind] === 'embedded'),
  );
  return () => servers.stop();
}

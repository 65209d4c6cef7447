import type { TestProject } from 'vitest/node';
import { discoverServers, ServersUnavailableError } from './discover.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    amqpUrl: string;
    databaseUrl: string;
  }
}

/**
 * Runs once per `vitest` run: finds (or starts) RabbitMQ and Postgres and hands their URLs to
 * every test file. Containers it started are stopped when the run ends.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const servers = await discoverServers().catch((error: unknown) => {
    if (!(error instanceof ServersUnavailableError)) throw error;
    // Said plainly, without a stack trace into Vitest: this is a set-up problem, not a bug.
    console.error(`\n${error.message}\n`);
    process.exit(1);
  });
  project.provide('amqpUrl', servers.amqpUrl);
  project.provide('databaseUrl', servers.databaseUrl);
  return () => servers.stop();
}

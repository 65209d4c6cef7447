import type { TestProject } from 'vitest/node';
import { discoverServers } from '../servers/discover.ts';

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
  const servers = await discoverServers();
  project.provide('amqpUrl', servers.amqpUrl);
  project.provide('databaseUrl', servers.databaseUrl);
  return () => servers.stop();
}

import type { TestProject } from 'vitest/node';
import { provideServers } from './globalSetup.ts';

/** The `embedded` test project: PGlite and the in-memory broker, even where servers answer. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  return provideServers(project, { ...process.env, WORKSHOP_SERVERS: 'embedded' });
}

import { afterAll, beforeAll, inject } from 'vitest';
import { type Isolation, isolate } from './isolation.ts';

/**
 * Gives the calling test file its own broker prefix and Postgres schema for its whole run, and
 * removes them afterwards. Read it inside tests or hooks (it is filled in by `beforeAll`).
 */
export function useIsolation(label: string): () => Isolation {
  let current: Isolation | undefined;
  beforeAll(async () => {
    current = await isolate({
      label,
      amqpUrl: inject('amqpUrl'),
      databaseUrl: inject('databaseUrl'),
    });
  });
  afterAll(async () => {
    await current?.cleanup();
  });
  return () => {
    if (!current) throw new Error('useIsolation(): read the isolation inside a test or hook');
    return current;
  };
}

import { POSTGRES_IMAGE, RABBITMQ_IMAGE } from './images.ts';
import type { ServerKind } from './urls.ts';

export interface StartedServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * True when a Docker (or compatible) engine answers. Testcontainers is imported only here and
 * only when needed: it is the last resort, and loading it costs time nobody else should pay.
 */
export async function dockerEngineAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** Starts a throwaway RabbitMQ or Postgres container and returns its URL. */
export async function startContainer(kind: ServerKind): Promise<StartedServer> {
  if (kind === 'broker') {
    const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
    const container = await new RabbitMQContainer(RABBITMQ_IMAGE).start();
    return { url: container.getAmqpUrl(), stop: async () => void (await container.stop()) };
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const container = await new PostgreSqlContainer(POSTGRES_IMAGE).start();
  return { url: container.getConnectionUri(), stop: async () => void (await container.stop()) };
}

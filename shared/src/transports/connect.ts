import type { Transport } from '../bus/transport.ts';
import { MemoryTransport } from './memory/memoryTransport.ts';
import { RabbitMqTransport, type RabbitMqTransportOptions } from './rabbitmq/rabbitMqTransport.ts';

/** The broker URL of the in-memory transport: the broker lives in this process. */
export const MEMORY_BROKER_URL = 'memory://';

/** True when `url` names the in-memory broker (`memory://`, with or without a name after it). */
export function isMemoryBrokerUrl(url: string): boolean {
  return url.startsWith('memory:');
}

/**
 * A transport for a broker URL: `amqp://…` connects to RabbitMQ, `memory://` makes an in-memory
 * broker in this process (a new one each call: only endpoints given the same transport talk to
 * each other). The RabbitMQ options are ignored in memory, but for `prefix`.
 */
export async function connectTransport(options: RabbitMqTransportOptions): Promise<Transport> {
  if (isMemoryBrokerUrl(options.url)) {
    return new MemoryTransport(options.prefix === undefined ? {} : { prefix: options.prefix });
  }
  return RabbitMqTransport.connect(options);
}

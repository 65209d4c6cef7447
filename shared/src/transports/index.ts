export { connectTransport, isMemoryBrokerUrl, MEMORY_BROKER_URL } from './connect.ts';
export { DeadlineExceeded, describeConnectionError, maskUrl } from './connectionErrors.ts';
export { MemoryTransport, type MemoryTransportOptions } from './memory/memoryTransport.ts';
export { RabbitMqTransport, type RabbitMqTransportOptions } from './rabbitmq/rabbitMqTransport.ts';

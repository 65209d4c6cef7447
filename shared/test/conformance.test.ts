import { describeOn, useIsolation } from '../src/testing/index.ts';
import { MemoryTransport, RabbitMqTransport } from '../src/transports/index.ts';
import { conformanceSuite } from './conformance/conformanceSuite.ts';

const iso = useIsolation('conformance');
let test = 0;

describeOn('rabbitmq', 'RabbitMQ', () => {
  conformanceSuite('rabbitmq', () => {
    test++;
    return RabbitMqTransport.connect({
      url: iso().amqpUrl,
      prefix: `${iso().prefix}.${test}.`,
      onDeclare: (name) => iso().track(name),
      publishTimeoutMs: 2_000,
    });
  });
});

conformanceSuite('memory', async () => new MemoryTransport());

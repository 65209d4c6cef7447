import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { z } from 'zod';
import { Endpoint } from '../src/bus/index.ts';
import { createLogger } from '../src/log/index.ts';
import { defineCommand } from '../src/messages/index.ts';
import { RabbitMqTransport } from '../src/transports/index.ts';

const AddItem = defineCommand('AddItem', z.object({ orderId: z.string(), filling: z.string() }));
const BODY = { orderId: 'o-1', filling: 'Meat' };

export interface ThroughputResult {
  messages: number;
  inFlight: number;
  plain_publish_msgs_per_s: number;
  library_publish_msgs_per_s: number;
  plain_consume_msgs_per_s: number;
  library_consume_msgs_per_s: number;
}

/**
 * Publish-with-confirm and consume-with-ack, plain amqplib against the library, in one process
 * on the same broker, `inFlight` messages outstanding at a time on both sides. The median of
 * `rounds` rounds, each run in the order plain, library.
 */
export async function transportThroughput(
  url: string,
  options: { messages?: number; inFlight?: number; rounds?: number } = {},
): Promise<ThroughputResult> {
  const messages = options.messages ?? 5_000;
  const inFlight = options.inFlight ?? 100;
  const rounds = options.rounds ?? 3;
  const samples: Record<string, number[]> = { pp: [], lp: [], pc: [], lc: [] };
  for (let round = 0; round < rounds; round++) {
    const prefix = `bench.${randomBytes(3).toString('hex')}.`;
    const plainQueue = `${prefix}plain`;
    const connection = await amqp.connect(url, { noDelay: true }); // the same socket settings as the library
    const setup = await connection.createChannel();
    const transport = await RabbitMqTransport.connect({ url, prefix });
    const logger = createLogger({ level: 'warn' });
    try {
      await setup.assertQueue(plainQueue, { durable: true });
      // The library's consumer declares its queue; stop it so the publish phase fills it.
      const declare = new Endpoint({ name: 'library', transport, logger }).handle(
        AddItem,
        async () => {},
      );
      await declare.start();
      await declare.stop();

      samples.pp?.push(
        await rate(messages, () => plainPublish(connection, plainQueue, messages, inFlight)),
      );
      const sender = new Endpoint({ name: 'sender', transport, logger });
      samples.lp?.push(
        await rate(messages, () =>
          inParallel(messages, inFlight, () =>
            sender.send(AddItem, BODY, { to: 'library' }).then(() => {}),
          ),
        ),
      );
      samples.pc?.push(
        await rate(messages, () => plainConsume(connection, plainQueue, messages, inFlight)),
      );
      let handled = 0;
      let done = () => {};
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      const consumer = new Endpoint({
        name: 'library',
        transport,
        logger,
        concurrency: inFlight,
      }).handle(AddItem, async () => {
        if (++handled === messages) done();
      });
      samples.lc?.push(
        await rate(messages, async () => {
          await consumer.start();
          await finished;
        }),
      );
      await consumer.stop();
    } finally {
      for (const name of [plainQueue, `${prefix}library`, `${prefix}error`])
        await setup.deleteQueue(name);
      for (const delay of [1000, 5000, 15000])
        await setup.deleteQueue(`${prefix}library.delay-${delay}ms`);
      await setup.deleteExchange(`${prefix}events`);
      await transport.close();
      await connection.close();
    }
  }
  return {
    messages,
    inFlight,
    plain_publish_msgs_per_s: median(samples.pp ?? []),
    library_publish_msgs_per_s: median(samples.lp ?? []),
    plain_consume_msgs_per_s: median(samples.pc ?? []),
    library_consume_msgs_per_s: median(samples.lc ?? []),
  };
}

async function rate(messages: number, work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return Math.round(messages / ((performance.now() - started) / 1000));
}

async function inParallel(total: number, width: number, task: () => Promise<void>): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (started < total) {
        started++;
        await task();
      }
    }),
  );
}

/** What the library sends, done by hand: same headers, persistent, one confirm per message. */
async function plainPublish(
  connection: amqp.ChannelModel,
  queue: string,
  total: number,
  width: number,
) {
  const channel = await connection.createConfirmChannel();
  const body = Buffer.from(JSON.stringify(BODY));
  let id = 0;
  await inParallel(total, width, () => {
    const messageId = `m-${id++}`;
    return new Promise<void>((resolve, reject) => {
      channel.sendToQueue(
        queue,
        body,
        {
          persistent: true,
          messageId,
          type: 'AddItem',
          contentType: 'application/json',
          headers: {
            'x-conversation-id': messageId,
            'x-sending-endpoint': 'sender',
            'x-sent-at': new Date().toISOString(),
          },
        },
        (error: unknown) => (error ? reject(error) : resolve()),
      );
    });
  });
  await channel.close();
}

/** Consume and ack, nothing else (no parsing, no validation): the floor the library sits on. */
async function plainConsume(
  connection: amqp.ChannelModel,
  queue: string,
  total: number,
  prefetch: number,
) {
  const channel = await connection.createChannel();
  await channel.prefetch(prefetch);
  let acked = 0;
  await new Promise<void>((resolve) => {
    void channel.consume(queue, (message) => {
      if (!message) return;
      channel.ack(message);
      if (++acked === total) resolve();
    });
  });
  await channel.close();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

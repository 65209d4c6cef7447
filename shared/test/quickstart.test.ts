import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { afterAll, expect, inject, it } from 'vitest';
import { describeOn, runCommand } from '../src/testing/index.ts';

const shared = fileURLToPath(new URL('..', import.meta.url));

describeOn('rabbitmq', 'the README quick start', () => {
  afterAll(async () => {
    // The example declares its own names; remove them so the broker is left as found.
    const connection = await amqp.connect(inject('amqpUrl'));
    const channel = await connection.createChannel();
    for (const queue of ['orders', 'billing', 'error'])
      await channel.deleteQueue(`quickstart.${queue}`);
    for (const delay of [1000, 5000, 15000]) {
      for (const queue of ['orders', 'billing']) {
        await channel.deleteQueue(`quickstart.${queue}.delay-${delay}ms`);
      }
    }
    await channel.deleteExchange('quickstart.events');
    await connection.close();
  });

  it('shows the example file as it is', () => {
    const readme = readFileSync(`${shared}/README.md`, 'utf8');
    const example = readFileSync(`${shared}/examples/quickstart.ts`, 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it('runs, and billing sees the event the order handler published', async () => {
    const { code, output } = await runCommand(
      process.execPath,
      ['--import', 'tsx', 'examples/quickstart.ts'],
      {
        cwd: shared,
        env: { AMQP_URL: inject('amqpUrl'), LOG_LEVEL: 'warn' },
      },
    );
    expect(code, output).toBe(0);
    expect(output).toMatch(/billing saw Meat, caused by [0-9a-f-]{36}/);
  });
});

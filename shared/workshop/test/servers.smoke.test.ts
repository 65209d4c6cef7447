import { describeOn, isolate, useIsolation } from '@pierogi/shared/testing';
import amqp from 'amqplib';
import pg from 'pg';
import { expect, inject, it } from 'vitest';

describeOn('rabbitmq', 'smoke: real servers, isolated per test file', () => {
  const iso = useIsolation('servers smoke');

  it('a message published to an isolated queue comes back through RabbitMQ', async () => {
    const queue = iso().name('smoke');
    const connection = await amqp.connect(iso().amqpUrl);
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue(queue, { durable: true });
      channel.sendToQueue(queue, Buffer.from(JSON.stringify({ filling: 'Meat' })), {
        persistent: true,
        messageId: 'smoke-1',
      });
      await channel.waitForConfirms();

      const received = await new Promise<amqp.ConsumeMessage>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message within 5 s')), 5000);
        void channel.consume(queue, (message) => {
          if (!message) return;
          clearTimeout(timer);
          channel.ack(message);
          resolve(message);
        });
      });
      expect(received.properties.messageId).toBe('smoke-1');
      expect(JSON.parse(received.content.toString())).toEqual({ filling: 'Meat' });
      expect(queue.startsWith(`${iso().prefix}.`)).toBe(true);
    } finally {
      await connection.close();
    }
  });

  it('a row written in the isolated schema is read back from Postgres, and lives only there', async () => {
    const pool = iso().pool();
    await pool.query('create table pierogi (id text primary key, filling text not null)');
    await pool.query('insert into pierogi values ($1, $2)', ['p1', 'Mushrooms']);

    const { rows } = await pool.query('select filling from pierogi where id = $1', ['p1']);
    expect(rows).toEqual([{ filling: 'Mushrooms' }]);
    const where = await pool.query<{ table_schema: string }>(
      "select table_schema from information_schema.tables where table_name = 'pierogi'",
    );
    expect(where.rows.map((r) => r.table_schema)).toContain(iso().schema);
    expect(where.rows.map((r) => r.table_schema)).not.toContain('public');
  });
});

describeOn('rabbitmq', 'isolation cleanup', () => {
  it('removes the queues it named and the schema it created', async () => {
    const iso = await isolate({
      label: 'cleanup check',
      amqpUrl: inject('amqpUrl'),
      databaseUrl: inject('databaseUrl'),
    });
    const queue = iso.name('leftover');
    const connection = await amqp.connect(iso.amqpUrl);
    try {
      const setup = await connection.createChannel();
      await setup.assertQueue(queue, { durable: true });
      await iso.pool().query('create table leftover (id int)');

      await iso.cleanup();

      const check = await connection.createChannel();
      check.on('error', () => {}); // a failed checkQueue closes the channel with an error
      await expect(check.checkQueue(queue)).rejects.toThrow(/NOT_FOUND/);
    } finally {
      await connection.close();
    }
    const client = new pg.Client({ connectionString: iso.databaseUrl });
    await client.connect();
    try {
      const { rowCount } = await client.query(
        'select 1 from information_schema.schemata where schema_name = $1',
        [iso.schema],
      );
      expect(rowCount).toBe(0);
    } finally {
      await client.end();
    }
  });
});

import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { z } from 'zod';
import { BrokerUnavailableError, Endpoint, type Transport } from '../src/bus/index.ts';
import { defineCommand } from '../src/messages/index.ts';
import {
  canForceCloseConnections,
  describeOn,
  forceCloseConnections,
  gate,
  startTcpProxy,
  type TcpProxy,
  useIsolation,
  waitFor,
} from '../src/testing/index.ts';
import { RabbitMqTransport } from '../src/transports/index.ts';

const Job = defineCommand('Job', z.object({ n: z.number().int() }));
const TOTAL = 1_000;
const FAST = { immediateRetries: 1, delayedRetriesMs: [50] };

describeOn('rabbitmq', 'rabbitmq resilience', () => {
  const iso = useIsolation('resilience');
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  async function transport(
    options: { url?: string; connectionName?: string; publishTimeoutMs?: number } = {},
  ) {
    const t = await RabbitMqTransport.connect({
      url: options.url ?? iso().amqpUrl,
      prefix: `${iso().prefix}.${randomBytes(3).toString('hex')}.`,
      onDeclare: (name) => iso().track(name),
      connectionName: options.connectionName,
      publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
    });
    cleanups.push(() => t.close());
    return t;
  }

  function endpoint(name: string, t: Transport, concurrency = 20) {
    const e = new Endpoint({ name, transport: t, concurrency, recoverability: FAST });
    cleanups.push(() => e.stop({ drain: false }));
    return e;
  }

  /**
   * Sends every job, 20 at a time (each waits for its publisher confirm). During an outage a
   * send fails, and the caller (this loop) tries again: the bus never holds it in memory.
   */
  async function sendAll(sender: Endpoint, ns: number[]) {
    const queue = [...ns];
    const sendOne = async (n: number) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await sender.send(Job, { n }, { to: 'worker', id: `job-${n}` });
          return;
        } catch (error) {
          if (!(error instanceof BrokerUnavailableError) || attempt >= 100) throw error;
        }
      }
    };
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let n = queue.shift(); n !== undefined; n = queue.shift()) await sendOne(n);
      }),
    );
  }

  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  it('every message is handled at least once while the broker force-closes connections', async (context) => {
    if (!(await canForceCloseConnections(iso().amqpUrl))) {
      context.skip('neither rabbitmqctl nor the management API is reachable to close connections');
    }
    const connectionName = `${iso().prefix}.chaos-${randomBytes(3).toString('hex')}`;
    const t = await transport({ connectionName });
    const handled = new Map<number, number>();
    // Jobs 300 and 700 hold their first delivery until the test has made the broker drop the
    // connection under them: they, and up to 19 others in flight, are never acked and must
    // come back.
    const held = new Map([300, 700].map((n) => [n, gate()]));
    await endpoint('worker', t)
      .handle(Job, async (m) => {
        const n = m.body.n;
        const first = !handled.has(n);
        handled.set(n, (handled.get(n) ?? 0) + 1);
        if (first) await held.get(n)?.wait;
      })
      .start();

    const sending = sendAll(endpoint('sender', t), range(0, TOTAL));
    for (const [round, n] of [300, 700].entries()) {
      await waitFor(() => handled.has(n), { what: `job ${n} to be in flight` });
      expect(await forceCloseConnections(iso().amqpUrl, connectionName)).toBe(1);
      await waitFor(() => t.reconnections >= round + 1, { what: `reconnection ${round + 1}` });
      held.get(n)?.open();
    }
    await sending;

    const redelivered = (n: number) => (handled.get(n) ?? 0) >= 2;
    await waitFor(() => handled.size === TOTAL && redelivered(300) && redelivered(700), {
      timeoutMs: 60_000,
      what: () =>
        `all ${TOTAL} jobs (${handled.size} handled) and the redelivery of jobs 300 (${handled.get(300)}×) and 700 (${handled.get(700)}×)`,
    });
    expect(range(0, TOTAL).filter((n) => !handled.has(n))).toEqual([]);
  });

  it('a publish during an outage fails to its caller after the deadline; consuming resumes after', async () => {
    const broker = new URL(iso().amqpUrl);
    const proxy: TcpProxy = await startTcpProxy(broker.hostname, Number(broker.port || 5672));
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(iso().amqpUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const t = await transport({ url: viaProxy.toString(), publishTimeoutMs: 300 });
    const handled = new Set<number>();
    await endpoint('worker', t)
      .handle(Job, async (m) => void handled.add(m.body.n))
      .start();
    const sender = endpoint('sender', t);
    await sender.send(Job, { n: 1 }, { to: 'worker' });
    await waitFor(() => handled.has(1), { what: 'job 1 before the outage' });

    await proxy.cut();
    await expect(sender.send(Job, { n: 2 }, { to: 'worker' })).rejects.toThrow(
      BrokerUnavailableError,
    );
    await proxy.restore();

    await sendAll(sender, [3]);
    await waitFor(() => handled.has(3), { what: 'job 3 after the outage' });
    expect([...handled].sort()).toEqual([1, 3]); // job 2 was refused, not kept in memory
    expect(t.reconnections).toBeGreaterThanOrEqual(1);
  });

  for (const drain of [true, false]) {
    it(`stopping ${drain ? 'gracefully' : 'without draining'} while 1,000 messages flow loses nothing${drain ? ' and acks nothing twice' : ''}`, async () => {
      const t = await transport();
      const handled = new Map<number, number>();
      const handler = async (m: { body: { n: number } }) => {
        handled.set(m.body.n, (handled.get(m.body.n) ?? 0) + 1);
      };
      const first = endpoint('worker', t, 10).handle(Job, handler);
      await first.start();
      await first.stop(); // the queue exists; fill it while nobody consumes
      await sendAll(endpoint('sender', t), range(0, TOTAL));

      const worker = endpoint('worker', t, 10).handle(Job, handler);
      await worker.start();
      await waitFor(() => handled.size >= 300, { what: '300 jobs before stopping' });
      await worker.stop({ drain });
      const handledBeforeRestart = handled.size;
      await endpoint('worker', t, 10).handle(Job, handler).start();

      await waitFor(() => handled.size === TOTAL, {
        timeoutMs: 30_000,
        what: () => `all ${TOTAL} jobs (${handled.size} handled)`,
      });
      expect(handledBeforeRestart).toBeLessThan(TOTAL); // the stop really came mid-flow
      const twice = [...handled].filter(([, count]) => count > 1).map(([n]) => n);
      if (drain)
        expect(twice).toEqual([]); // a double ack would close the channel and redeliver
      else expect(twice.length).toBeLessThanOrEqual(10); // at most the in-flight ones come back
    });
  }
});

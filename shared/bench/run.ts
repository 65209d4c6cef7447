/**
 * `pnpm bench`: measures, prints a table; `pnpm bench --json` prints one JSON object instead.
 * Uses the same servers as the tests (AMQP_URL / DATABASE_URL, else localhost, else Docker).
 */
import { discoverServers } from '../workshop/src/servers/index.ts';
import { outboxInboxBench } from './outboxInbox.ts';
import { strategyStorage } from './strategyStorage.ts';
import { transportThroughput } from './transportThroughput.ts';
import { verificationSpeed } from './verificationSpeed.ts';

const json = process.argv.includes('--json');
const servers = await discoverServers();
try {
  if (!json)
    console.log('Measuring publish-with-confirm and consume-with-ack (median of 3 rounds)…');
  const t = await transportThroughput(servers.amqpUrl);
  const v = await verificationSpeed();
  if (!json) console.log('Measuring naive at-least-once against the SQL outbox + inbox…');
  const o = await outboxInboxBench(servers.amqpUrl, servers.databaseUrl);
  if (!json) console.log('Measuring what each deduplication strategy stores…');
  const storageMessages = 200;
  const storage = await strategyStorage(storageMessages);
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  const { messages: transportMessages, inFlight, ...transport } = t;
  const { messages: outboxMessages, concurrency, ...outbox } = o;
  const result = {
    transport_messages: transportMessages,
    transport_in_flight: inFlight,
    ...transport,
    publish_ratio: ratio(t.library_publish_msgs_per_s, t.plain_publish_msgs_per_s),
    consume_ratio: ratio(t.library_consume_msgs_per_s, t.plain_consume_msgs_per_s),
    ...v,
    outbox_messages: outboxMessages,
    outbox_concurrency: concurrency,
    ...outbox,
    storage_messages: storageMessages,
    storage,
  };
  if (json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(
      `\n${t.messages} messages, ${t.inFlight} in flight, RabbitMQ at ${servers.sources.broker}\n`,
    );
    console.table({
      'publish + confirm': {
        'plain amqplib (msg/s)': t.plain_publish_msgs_per_s,
        'library (msg/s)': t.library_publish_msgs_per_s,
        'library / plain': result.publish_ratio,
      },
      'consume + ack': {
        'plain amqplib (msg/s)': t.plain_consume_msgs_per_s,
        'library (msg/s)': t.library_consume_msgs_per_s,
        'library / plain': result.consume_ratio,
      },
    });
    console.log(
      `\nThe same handler (one insert, one event), ${o.messages} messages, ${o.concurrency} at a time\n`,
    );
    console.table({
      'naive at-least-once': { 'msg/s': o.naive_msgs_per_s },
      'SQL outbox + inbox': {
        'msg/s': o.outbox_inbox_msgs_per_s,
        'outbox / naive': o.ratio,
        'publish → received p50 (ms)': o.dispatch_latency_p50_ms,
        'p99 (ms)': o.dispatch_latency_p99_ms,
      },
    });
    console.log(
      `\nDeduplication storage: ${o.inbox_rows_before_cleanup} inbox rows after the run, ${o.dedup_rows_after_cleanup} after a cleanup in batches of 1,000 (${o.cleanup_ms} ms); ${o.outbox_rows_left} outbox rows left`,
    );
    console.log('\nVerifying the two-worker outbox + inbox model\n');
    console.table({
      'model checker (2 crashes)': {
        size: `${v.model_checker_states} states`,
        'per second': v.model_checker_states_per_s,
      },
      'interleaving explorer (1 crash)': {
        size: `${v.explorer_executions} executions`,
        'per second': v.explorer_executions_per_s,
      },
    });
    console.log(
      `\nWhat each document strategy keeps after ${storageMessages} AddItems to one order (each causing one ItemAdded to billing), once everything settled\n`,
    );
    console.table(storage);
  }
} finally {
  await servers.stop();
}

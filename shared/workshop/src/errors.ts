/**
 * `pnpm errors`: the error queue of a running (or stopped) shop — list, show, send back, delete.
 * Messages that gave up wait there; this is how they come back.
 */
import {
  CannotSendBackError,
  connectTransport,
  createLogger,
  createPool,
  type FailedMessage,
  FailedMessages,
} from '@pierogi/shared';
import { type ExerciseInfo, findExercise, listExercises, UsageError } from './exercises.ts';
import { discoverServers, EMBEDDED_DATA_DIR } from './servers/index.ts';

export const ERRORS_HELP = `pnpm errors — the messages in the error queue, and the way back

  pnpm errors [list]          what failed: id, type, endpoint, attempts, when, why
  pnpm errors show ID         one of them whole: headers, body, the error and its stack
  pnpm errors retry ID        send it back to the endpoint it failed at, as a new message
                              (its id and body unchanged, its retry counters reset)
  pnpm errors retry --all     send every one back, oldest first
  pnpm errors delete ID       forget it for good

Which shop: the one \`pnpm start\` runs, unless
  --exercise NN / --solution NN   the shop of \`pnpm exercise NN\` / \`pnpm solution NN\`
  SHOP_SCHEMA=… SHOP_PREFIX=…     a shop started with these (shared/workshop/src/shopProcess.ts)

A message sent back that fails again returns here, with its count of sends. The endpoints drop a
copy of a message they applied already, so sending one back twice does no harm.

In embedded mode (no RabbitMQ: the broker lives in the running shop's process) list, show and
delete work here; send messages back from the page (Error queue: Send back) or its API,
POST /api/errors/ID/retry.`;

/** Which shop's error queue, and what to do with it. */
function parse(args: readonly string[]): {
  action: string;
  id: string | undefined;
  all: boolean;
  which: 'exercise' | 'solution';
  exercise: ExerciseInfo;
} {
  const rest: string[] = [];
  let which: 'exercise' | 'solution' = 'solution';
  let number: string | undefined;
  let all = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--exercise' || arg === '--solution') {
      which = arg === '--exercise' ? 'exercise' : 'solution';
      number = args[++i];
      if (!number) throw new UsageError(`${arg} needs an exercise number, e.g. ${arg} 07`);
    } else if (arg === '--all') {
      all = true;
    } else if (arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}\n\n${ERRORS_HELP}`);
    } else {
      rest.push(arg);
    }
  }
  const [action = 'list', id, ...extra] = rest;
  if (extra.length > 0) throw new UsageError(`too many arguments: ${extra.join(' ')}`);
  const latest = listExercises().at(-1);
  if (!number && !latest) throw new UsageError('there is no shop to look at yet');
  const exercise = number ? findExercise(number) : (latest as ExerciseInfo);
  return { action, id, all, which, exercise };
}

export async function errors(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    console.log(ERRORS_HELP);
    return 0;
  }
  const { action, id, all, which, exercise } = parse(args);
  if (!['list', 'show', 'retry', 'delete'].includes(action)) {
    throw new UsageError(`unknown action ${action}\n\n${ERRORS_HELP}`);
  }
  if (action !== 'list' && !id && !(action === 'retry' && all)) {
    throw new UsageError(
      `pnpm errors ${action} needs the id of a failed message (see pnpm errors)${action === 'retry' ? ', or --all' : ''}`,
    );
  }
  const servers = await discoverServers({ embeddedDataDir: EMBEDDED_DATA_DIR });
  if (action === 'retry' && servers.sources.broker === 'embedded') {
    await servers.stop();
    throw new UsageError(
      `in embedded mode the broker lives in the running shop's process, so only the shop can send a message back: use the Send back button in the page's error queue, or its API: curl -X POST http://127.0.0.1:${process.env.PORT ?? 3000}/api/errors/${id ?? 'ID'}/retry (POST /api/errors/retry for all). \`pnpm errors list\`, \`show\` and \`delete\` work here.`,
    );
  }
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  // The same names `pnpm exercise`, `pnpm solution` and `pnpm start` use (or, for a shop started
  // otherwise, SHOP_SCHEMA and SHOP_PREFIX, as shopProcess.ts takes them).
  const schema = process.env.SHOP_SCHEMA || `shop_${exercise.number}_${which}`;
  const prefix = process.env.SHOP_PREFIX || `shop.${exercise.number}.${which}.`;
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new UsageError(`SHOP_SCHEMA=${schema}: use lower-case letters, digits and "_"`);
  }
  const transport = await connectTransport({
    url: servers.amqpUrl,
    prefix,
    connectionName: 'pnpm errors',
    logger,
  });
  const pool = createPool(
    { connectionString: servers.databaseUrl, options: `-c search_path=${schema}` },
    logger,
  );
  try {
    await pool.query(`create schema if not exists ${schema}`); // checked above; a shop that never ran: empty
    const failed = new FailedMessages(pool, transport, { logger });
    await failed.install();
    await failed.takeWaiting(); // what a stopped shop could not take off the queue yet
    const where = `${which} ${exercise.number} (${exercise.title})`;
    switch (action) {
      case 'list':
        return list(await failed.list(), where, servers.sources.broker === 'embedded');
      case 'show': {
        const message = await failed.get(id as string);
        if (!message) return missing(id as string, where);
        show(message);
        return 0;
      }
      case 'retry': {
        if (all) {
          const count = await failed.retryAll();
          console.log(`sent ${count} message(s) back`);
          return 0;
        }
        try {
          if (!(await failed.retry(id as string))) return missing(id as string, where);
        } catch (error) {
          if (!(error instanceof CannotSendBackError)) throw error;
          console.error(error.message);
          return 1;
        }
        console.log(`sent ${id} back`);
        return 0;
      }
      default: {
        if (!(await failed.delete(id as string))) return missing(id as string, where);
        console.log(`deleted ${id}`);
        return 0;
      }
    }
  } finally {
    await transport.close();
    await pool.end();
    await servers.stop();
  }
}

function list(messages: readonly FailedMessage[], where: string, embedded: boolean): number {
  if (messages.length === 0) {
    console.log(`The error queue of ${where} is empty.`);
    return 0;
  }
  console.log(`${messages.length} message(s) in the error queue of ${where}:\n`);
  for (const m of messages) {
    const when = m.failedAt.replace('T', ' ').slice(0, 19);
    const sentBack = m.retries > 0 ? `, sent back ${m.retries}×` : '';
    console.log(
      `${m.id.padStart(4)}  ${(m.type ?? '?').padEnd(15)} at ${(m.endpoint ?? '?').padEnd(10)} ${String(m.attempts).padStart(2)} attempt(s)  ${when}${sentBack}`,
    );
    console.log(`      ${m.reason}: ${m.error}`);
  }
  console.log(
    embedded
      ? '\n`pnpm errors show ID` for one whole; to send one back, the page of the running shop (Error queue: Send back).'
      : '\n`pnpm errors show ID` for one whole; `pnpm errors retry ID` (or --all) to send back.',
  );
  return 0;
}

function show(m: FailedMessage): void {
  console.log(`id:         ${m.id}`);
  console.log(`message id: ${m.messageId ?? '(none)'}`);
  console.log(`type:       ${m.type ?? '(none)'}`);
  console.log(`endpoint:   ${m.endpoint ?? '(unknown)'} (queue ${m.sourceQueue ?? '?'})`);
  console.log(`failed at:  ${m.failedAt}, after ${m.attempts} attempt(s)`);
  if (m.retries > 0) console.log(`sent back:  ${m.retries} time(s) before`);
  console.log(`reason:     ${m.reason}`);
  console.log(`error:      ${m.error}`);
  console.log(`body:       ${m.body}`);
  console.log('headers:');
  for (const [name, value] of Object.entries(m.headers)) {
    if (name !== 'x-exception-stack') console.log(`  ${name}: ${value}`);
  }
  if (m.stack) console.log(`stack:\n${m.stack}`);
}

function missing(id: string, where: string): number {
  console.error(
    `there is no failed message ${id} in the error queue of ${where} (see pnpm errors)`,
  );
  return 1;
}

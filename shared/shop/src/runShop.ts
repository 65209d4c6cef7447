import {
  Chaos,
  type ChaosRule,
  ConversationTracer,
  connectTransport,
  createLogger,
  createPool,
  Endpoint,
  FailedMessages,
  type HandlerContext,
  type Logger,
  maskUrl,
  PgDocumentStore,
  type RecoverabilityPolicy,
  type UnitOfWork,
  untilAvailable,
} from '@pierogi/shared';
import pg from 'pg';
import { type Bill, Entities, type FirstItems, type Order } from './entities.ts';
import type { CounterexamplePanel } from './frontend/counterexampleView.ts';
import { createFrontend } from './frontend/http.ts';
import { PgRequestKeys } from './frontend/requestKeys.ts';
import { LiveLog } from './liveLog.ts';
import type { CustomerIntents, ShopCode, ShopContext, ShopStores } from './shopCode.ts';
import { SHOP_STEPS, type ShopStep } from './steps.ts';

export interface RunShopOptions {
  /** The exercise's (or solution's) shop code: what each endpoint does. */
  readonly code: ShopCode;
  readonly amqpUrl: string;
  readonly databaseUrl: string;
  /** The Postgres schema the shop keeps its tables in (created if missing). Default `shop`. */
  readonly schema?: string;
  /** Prefix of every queue and exchange. Default `shop.`. */
  readonly prefix?: string;
  /** Serve the page and API on this port (0: any free one); undefined: no HTTP. */
  readonly port?: number;
  readonly host?: string;
  /** The chaos monkey's seed: the same seed replays the same injections. Default 1. */
  readonly chaosSeed?: number;
  /** Chaos rules in force from the start, before the first message is taken. */
  readonly chaosRules?: readonly ChaosRule<ShopStep>[];
  /**
   * Start only these parts (default: all), so each can run in a process of its own against the
   * same broker prefix and schema. `frontend` is the HTTP API and the shop code's frontend.
   */
  readonly only?: readonly ShopPart[];
  readonly logger?: Logger;
  /** Called for each broker queue or exchange the shop declares (tests delete them after). */
  readonly onDeclare?: (name: string) => void;
  /** How failing messages are retried before the error queue. Default {@link SHOP_RECOVERABILITY}. */
  readonly recoverability?: RecoverabilityPolicy;
  /** How long start-up waits for a database or broker that is not there yet. Default 30 s. */
  readonly startupTimeoutMs?: number;
  /** The last counterexample of an exercise's check, for the page (see {@link FrontendOptions}). */
  readonly counterexample?: () => Promise<CounterexamplePanel | undefined>;
}

/**
 * The shop's retry policy: 5 attempts a delivery, then 7 delayed retries over about 16 s. The
 * chaos panel at "half the time" fails one attempt in two, so a message fails all 40 attempts
 * about once in a trillion: chaos the panel can set does not normally exhaust it. A message that
 * does (a rule that always fails it, a bug) waits in the error queue — on the page, and with
 * `pnpm errors` — until someone sends it back.
 */
export const SHOP_RECOVERABILITY: RecoverabilityPolicy = {
  immediateRetries: 4,
  delayedRetriesMs: [100, 250, 500, 1_000, 2_000, 4_000, 8_000],
};

export interface RunningShop {
  /** The page's address, when serving HTTP. */
  readonly url: string | undefined;
  readonly endpoints: {
    readonly frontend: Endpoint;
    readonly orders: Endpoint;
    readonly billing: Endpoint;
    readonly marketing: Endpoint;
  };
  readonly orders: ShopContext['orders'];
  readonly bills: ShopContext['bills'];
  readonly marketing: ShopContext['marketing'];
  readonly chaos: Chaos<ShopStep>;
  readonly log: LiveLog;
  /** Follows conversations across the endpoints: wait for one to settle instead of sleeping. */
  readonly tracer: ConversationTracer;
  /** How customer requests become commands: the shop code's frontend, or one send each. */
  readonly intents: CustomerIntents | undefined;
  readonly pool: pg.Pool;
  /** The error queue, kept in a table (only where the frontend runs). */
  readonly failed: FailedMessages | undefined;
  close(): Promise<void>;
}

/** The parts of a shop; `frontend` is the HTTP API and the shop code's frontend. */
export const SHOP_PARTS = ['frontend', 'orders', 'billing', 'marketing'] as const;
export type ShopPart = (typeof SHOP_PARTS)[number];

const ROUTES = { AddItem: 'orders', RemoveItem: 'orders', SubmitOrder: 'orders' };

/**
 * Starts the shop with one exercise's code: the endpoints on RabbitMQ, their documents in
 * Postgres, the chaos monkey on every endpoint (no rules until someone adds them) and, if asked,
 * the page and API.
 */
export async function runShop(options: RunShopOptions): Promise<RunningShop> {
  const logger = options.logger ?? createLogger();
  const schema = options.schema ?? 'shop';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) {
    throw new Error(`schema ${JSON.stringify(schema)}: use letters, digits and "_" only`);
  }
  const startup = { timeoutMs: options.startupTimeoutMs ?? 30_000, logger };
  await untilAvailable(
    `the database at ${maskUrl(options.databaseUrl)}`,
    async () => {
      const admin = new pg.Client({ connectionString: options.databaseUrl });
      admin.on('error', () => {}); // a failure reaches the query waiting on it
      try {
        await admin.connect();
        await admin.query(`create schema if not exists ${pg.escapeIdentifier(schema)}`);
      } finally {
        await admin.end().catch(() => {});
      }
    },
    { ...startup, transient: (error) => !PERMANENT_DATABASE_ERRORS.has(codeOf(error)) },
  );
  const pool = createPool(
    {
      connectionString: options.databaseUrl,
      options: `-c search_path=${schema}`,
      // Names the shop's connections in pg_stat_activity (and for an administrator's scripts).
      application_name: `pierogi shop ${schema}`.slice(0, 63),
    },
    logger,
  );
  const documents = new PgDocumentStore<never>(pool, { table: 'documents' });
  await documents.install();
  const tracer = new ConversationTracer();
  const chaos = new Chaos<ShopStep>({ seed: options.chaosSeed ?? 1, logger, steps: SHOP_STEPS });
  for (const rule of options.chaosRules ?? []) chaos.add(rule);
  // Chaos outermost: the tracer inside it sees every copy a duplicate sends.
  const broker = await untilAvailable(
    `the broker at ${maskUrl(options.amqpUrl)}`,
    () =>
      connectTransport({
        url: options.amqpUrl,
        prefix: options.prefix ?? 'shop.',
        // Names this shop's connection on the broker (an operator's, or a test's, way to find it).
        connectionName: `pierogi shop ${options.prefix ?? 'shop.'}`,
        logger,
        ...(options.onDeclare ? { onDeclare: options.onDeclare } : {}),
      }),
    // Wrong credentials do not heal by waiting.
    { ...startup, transient: (error) => !/ACCESS.REFUSED|403/i.test(String(error)) },
  );
  const transport = chaos.wrap(tracer.wrap(broker));
  const runs = (part: ShopPart) => options.only?.includes(part) ?? true;
  const log = new LiveLog();
  log.watch(chaos);
  const entities: ShopStores = {
    orders: new Entities<Order>(documents as PgDocumentStore<Order>, 'orders', chaos),
    bills: new Entities<Bill>(documents as PgDocumentStore<Bill>, 'bills', chaos),
    marketing: new Entities<FirstItems>(
      documents as PgDocumentStore<FirstItems>,
      'marketing',
      chaos,
    ),
  };
  /** The documents as one message's unit of work sees them. */
  const storesOf = (work: UnitOfWork): ShopStores => ({
    orders: entities.orders.in(work),
    bills: entities.bills.in(work),
    marketing: entities.marketing.in(work),
  });
  const endpoint = (name: string) =>
    new Endpoint({
      name,
      transport,
      logger,
      routes: ROUTES,
      recoverability: options.recoverability ?? SHOP_RECOVERABILITY,
      incoming: [
        log.deliveries(name),
        // After the handler, before the ack: where a crash makes the broker deliver it again.
        async (context, next) => {
          await next();
          await chaos.around('ack', context.message, async () => {});
        },
        chaos.incoming,
      ],
    });
  const endpoints = {
    frontend: endpoint('frontend'),
    orders: endpoint('orders'),
    billing: endpoint('billing'),
    marketing: endpoint('marketing'),
  };
  const duplicate = (context: HandlerContext, why: string) => log.duplicate(context, why);
  /** What the endpoints' code asked to stop when the shop closes. */
  const closing: (() => Promise<void>)[] = [];
  for (const name of ['orders', 'billing', 'marketing'] as const) {
    const setup = options.code[name];
    if (!setup || !runs(name)) continue;
    const own = endpoints[name];
    await setup({
      endpoint: own,
      ...entities,
      handle: (type, handler) => {
        own.handle(type, (message, context) =>
          handler(message, { ...context, ...storesOf(context.work) }),
        );
      },
      pool,
      log,
      steps: chaos,
      duplicate,
      onClose: (stop) => closing.push(stop),
    });
    await endpoints[name].start();
  }

  const intents = runs('frontend')
    ? await options.code.frontend?.({ endpoint: endpoints.frontend, pool })
    : undefined;

  // Where the page is, failed messages are taken off the error queue into a table, to be shown
  // and sent back from there (`pnpm errors` does the same when no shop runs).
  let failed: FailedMessages | undefined;
  if (runs('frontend')) {
    failed = new FailedMessages(pool, transport, { logger });
    await failed.install();
    await failed.start();
  }

  let requests: PgRequestKeys | undefined;
  if (options.port !== undefined && runs('frontend')) {
    requests = new PgRequestKeys(pool);
    await requests.install();
  }

  let url: string | undefined;
  const app =
    options.port === undefined || !runs('frontend')
      ? undefined
      : createFrontend({
          frontend: endpoints.frontend,
          ...(intents ? { intents } : {}),
          // Without orders in this process, the API cannot see its handlers: it sends.
          handled: (type) => !runs('orders') || endpoints.orders.handles(type),
          chaos,
          orders: entities.orders,
          bills: entities.bills,
          marketing: entities.marketing,
          log,
          ...(failed ? { failed } : {}),
          ...(requests ? { requests } : {}),
          ...(options.counterexample ? { counterexample: options.counterexample } : {}),
        });
  if (app) {
    const address = await app.listen({
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
    });
    url = address.replace('[::1]', 'localhost');
  }

  return {
    url,
    endpoints,
    ...entities,
    chaos,
    log,
    tracer,
    intents,
    pool,
    failed,
    async close() {
      // Each step runs even when one before it failed; the first failure is thrown at the end.
      const failures: unknown[] = [];
      const attempt = async (step: () => Promise<unknown> | undefined) => {
        try {
          await step();
        } catch (error) {
          failures.push(error);
        }
      };
      await attempt(() => app?.close());
      for (const e of Object.values(endpoints)) await attempt(() => e.stop());
      for (const stop of closing) await attempt(stop);
      await attempt(() => failed?.stop());
      await attempt(() => transport.close());
      await attempt(() => pool.end());
      if (failures.length > 0) throw failures[0];
    },
  };
}

/** Database errors waiting cannot heal: a wrong password, a database that does not exist. */
const PERMANENT_DATABASE_ERRORS = new Set(['28P01', '28000', '3D000']);

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

/**
 * Runs part of a shop as an OS process of its own, so a system test (or a person) can run each
 * endpoint in a process, kill one with SIGKILL and start it again. Settings come from the
 * environment:
 *
 * - `SHOP_CODE`: the shop code to run: its folder (`solutions/07-lost-messages`) or its module;
 * - `SHOP_PARTS`: which parts, comma-separated: `frontend,orders,billing,marketing` (default all);
 * - `PORT` / `HOST`: where the frontend serves the page and API (default 3000 on 127.0.0.1);
 * - `AMQP_URL` / `DATABASE_URL`: the servers (found as `pnpm start` finds them when unset);
 * - `SHOP_SCHEMA` / `SHOP_PREFIX`: the Postgres schema and broker prefix all the parts share;
 * - `CHAOS_SEED` and `CHAOS_RULES`: this process's chaos monkey, the rules as a JSON array of
 *   `ChaosRule` (every field but `where`), e.g. `[{"kind":"duplicate","rate":0.1}]`.
 *
 * It logs `ready` (with the page's address) once it takes messages, and stops cleanly on
 * SIGTERM or SIGINT: in-flight messages finish and are acked before it exits.
 *
 *   SHOP_CODE=solutions/07-lost-messages SHOP_PARTS=orders tsx shared/workshop/src/shopProcess.ts
 */
import { CHAOS_KINDS, createLogger, describeIssues, type Logger } from '@pierogi/shared';
import { loadShopCode, runShop, SHOP_PARTS, SHOP_STEPS } from '@pierogi/shop';
import { z } from 'zod';
import { discoverServers, EMBEDDED_DATA_DIR } from './servers/index.ts';

const ChaosRuleSchema = z.strictObject({
  kind: z.enum(CHAOS_KINDS),
  messageType: z.string().optional(),
  field: z.object({ path: z.string(), equals: z.unknown() }).optional(),
  rate: z.number().min(0).max(1).optional(),
  times: z.number().int().nonnegative().optional(),
  delayMs: z.number().int().nonnegative().optional(),
  step: z.enum(SHOP_STEPS, { error: `step must be one of ${SHOP_STEPS.join(', ')}` }).optional(),
});

const Settings = z.object({
  SHOP_CODE: z
    .string({ error: 'SHOP_CODE is not set: name the shop code to run (its folder)' })
    .min(1),
  SHOP_PARTS: z
    .string()
    .default(SHOP_PARTS.join(','))
    .transform((list) => list.split(',').map((part) => part.trim()))
    .pipe(z.array(z.enum(SHOP_PARTS)).min(1)),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  SHOP_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('shop'),
  SHOP_PREFIX: z.string().default('shop.'),
  CHAOS_SEED: z.coerce.number().int().default(1),
  CHAOS_RULES: z
    .string()
    .default('[]')
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        context.addIssue({ code: 'custom', message: `not JSON: ${(error as Error).message}` });
        return z.NEVER;
      }
    })
    .pipe(z.array(ChaosRuleSchema)),
});

/** A setting is missing or wrong: said in one line, without a stack trace. */
class SettingsError extends Error {
  override name = 'SettingsError';
}

/** The settings in `env`, or an error that names each one that is wrong. */
function settingsFrom(env: NodeJS.ProcessEnv): z.infer<typeof Settings> {
  const result = Settings.safeParse(env);
  if (!result.success) throw new SettingsError(`bad settings: ${describeIssues(result.error)}`);
  return result.data;
}

/**
 * Ends the process after `close` (exit 0), or with exit 1 if closing fails (the error logged) or
 * hangs for `ms` (a handler that never ends).
 */
async function stop(
  close: () => Promise<void>,
  log: Logger,
  signal: string,
  ms = 10_000,
): Promise<never> {
  log.info({ signal }, 'stopping: finishing the messages in progress');
  const timer = setTimeout(() => {
    log.error({ ms }, `could not stop within ${ms} ms; exiting anyway`);
    process.exit(1);
  }, ms);
  try {
    await close();
  } catch (error) {
    clearTimeout(timer);
    log.error({ err: error }, `could not stop cleanly: ${String(error)}`);
    process.exit(1);
  }
  clearTimeout(timer);
  log.info('stopped');
  process.exit(0);
}

async function main(): Promise<void> {
  const settings = settingsFrom(process.env);
  const name = settings.SHOP_PARTS.join('+');
  const logger = createLogger({ name }).child({ process: name });
  const code = await loadShopCode(settings.SHOP_CODE);
  const servers = await discoverServers({ embeddedDataDir: EMBEDDED_DATA_DIR });
  if (servers.banner) logger.warn(servers.banner);
  const shop = await runShop({
    code,
    only: settings.SHOP_PARTS,
    amqpUrl: servers.amqpUrl,
    databaseUrl: servers.databaseUrl,
    schema: settings.SHOP_SCHEMA,
    prefix: settings.SHOP_PREFIX,
    chaosSeed: settings.CHAOS_SEED,
    chaosRules: settings.CHAOS_RULES,
    logger,
    // Whoever started this process removes these names afterwards (tests do).
    onDeclare: (declared) => logger.info({ declared }, `declared ${declared}`),
    ...(settings.SHOP_PARTS.includes('frontend')
      ? { port: settings.PORT, host: settings.HOST }
      : {}),
  });
  const missing = settings.SHOP_PARTS.filter((part) => part !== 'frontend' && !code[part]);
  logger.info(
    {
      code: settings.SHOP_CODE,
      parts: settings.SHOP_PARTS,
      url: shop.url,
      chaosSeed: settings.CHAOS_SEED,
      chaosRules: settings.CHAOS_RULES.length,
    },
    `ready: ${name} of ${settings.SHOP_CODE}${shop.url ? ` at ${shop.url}` : ''}${
      missing.length > 0 ? ` (the shop code has no ${missing.join(', ')})` : ''
    }`,
  );
  const close = async () => {
    try {
      await shop.close();
    } finally {
      await servers.stop(); // also when the shop did not close cleanly
    }
  };
  process.once('SIGTERM', () => void stop(close, logger, 'SIGTERM'));
  process.once('SIGINT', () => void stop(close, logger, 'SIGINT'));
}

main().catch((error: unknown) => {
  const log = createLogger();
  if (error instanceof SettingsError) log.fatal(error.message);
  else log.fatal({ err: error }, `the shop process failed to start: ${String(error)}`);
  process.exit(1);
});

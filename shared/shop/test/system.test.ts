import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ChaosRule, WIRE } from '@pierogi/shared';
import {
  closedPort,
  describeOn,
  type Isolation,
  isolate,
  runCommand,
  waitFor,
} from '@pierogi/shared/testing';
import type pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { listExercises, ROOT } from '../../workshop/src/exercises.ts';
import type { ShopPart } from '../src/runShop.ts';
import { loadShopCode, shopCodeModule } from '../src/shopCode.ts';
import {
  differences,
  expectedAfter,
  expectedFirstFillings,
  type PlannedOrder,
  planOrders,
} from './system/customers.ts';
import { type DrainResult, drain } from './system/drain.ts';
import { type DriveResult, drive, look } from './system/drive.ts';
import { type FaultReport, startFaults } from './system/faults.ts';
import {
  errorQueue,
  type InFlight,
  inFlight,
  marketingCounts,
  marketingProcessed,
  total,
} from './system/inFlight.ts';
import { SHOP_PROCESS, ShopProcess, START_TIMEOUT_MS } from './system/shopProcess.ts';

/**
 * The system test of the reference shop (the highest-numbered solution): every endpoint in an OS
 * process of its own, hundreds of orders through the HTTP API (late copies of clicks among
 * them), the chaos monkey at every step each process meets, and one endpoint process killed with
 * SIGKILL and started again halfway. In the end every order, every bill and marketing's
 * statistics must be exactly right; then, with every endpoint stopped and nothing left in any
 * queue or in the outbox, still exactly right; and every chaos rule must have fired.
 *
 *   SYSTEM_SEED=7 pnpm exec vitest run shared/shop/test/system.test.ts
 *
 * Settings: SYSTEM_SEED (the plan of orders, the chaos and what gets killed), SYSTEM_ORDERS,
 * SYSTEM_CUSTOMERS (at once), SYSTEM_KILL (orders, billing, marketing or frontend),
 * SYSTEM_SHOP_CODE (another shop code: its folder or its src/index.ts, relative to the repository
 * or absolute, e.g. solutions/07-lost-messages).
 */

const SEED = Number(process.env.SYSTEM_SEED ?? 1);
const ORDERS = Number(process.env.SYSTEM_ORDERS ?? 300);
const CUSTOMERS = Number(process.env.SYSTEM_CUSTOMERS ?? 15);
const SHOP_CODE = process.env.SYSTEM_SHOP_CODE ?? latestSolution();
const SHOP_CODE_FILE = shopCodeModule(path.resolve(ROOT, SHOP_CODE));
const ENDPOINTS = ['orders', 'billing', 'marketing'] as const;
/** How long one click may take to be accepted and to show: longer than a restart can take. */
const STEP_TIMEOUT_MS = START_TIMEOUT_MS + 15_000;

/** The reference shop: the solution of the last exercise, as `pnpm start` runs it. */
function latestSolution(): string {
  const latest = listExercises().at(-1);
  if (!latest) throw new Error('there is no solution to test');
  return latest.solution;
}

/**
 * The store and SQL outbox steps each endpoint of the reference shop meets, with the rate of its
 * rules (marketing handles one message per order, so its rules fire more often to be sure to fire
 * at all). Only orders sends messages, so only orders meets 'dispatch' (a step that runs only
 * when there is something to send).
 */
const STEPS: Record<(typeof ENDPOINTS)[number], Record<string, number>> = {
  orders: { 'orders.save': 0.03, commit: 0.03, dispatch: 0.03 },
  billing: { 'bills.save': 0.03, commit: 0.03 },
  marketing: { 'marketing.save': 0.04, commit: 0.04 },
};

/**
 * Every kind of trouble the chaos monkey knows but crashing (the SIGKILL is the real one), each
 * rule where this process meets it, so every rule must fire: one that never does (a renamed
 * step, a path no longer taken) fails the test. Only the frontend and orders publish.
 */
function chaosFor(part: ShopPart): ChaosRule[] {
  const outgoing: ChaosRule[] = [
    { kind: 'duplicate', rate: 0.05 },
    { kind: 'delay', rate: 0.05, delayMs: 150 },
    { kind: 'fail-publish', rate: 0.03 },
  ];
  if (part === 'frontend') return outgoing;
  return [
    ...(part === 'orders' ? outgoing : []),
    { kind: 'drop-then-redeliver', rate: 0.03 },
    ...Object.entries(STEPS[part]).flatMap(([step, rate]): ChaosRule[] => [
      { kind: 'fail-commit', step, rate },
      { kind: 'timeout', step, rate, delayMs: 50 },
    ]),
  ];
}

/** A rule as the injections are counted: "fail-commit at commit", "duplicate". */
function ruleName(rule: ChaosRule): string {
  return rule.step ? `${rule.kind} at ${rule.step}` : rule.kind;
}

describeOn('rabbitmq', 'the reference shop as a system', () => {
  let iso: Isolation | undefined;
  let logDir = '';
  const processes = new Map<ShopPart, ShopProcess>();
  /** The queues the processes declared (and one exchange, which counting skips). */
  const declared = new Set<string>();

  beforeAll(async () => {
    iso = await isolate({
      label: 'system',
      amqpUrl: inject('amqpUrl'),
      databaseUrl: inject('databaseUrl'),
    });
    logDir = mkdtempSync(path.join(tmpdir(), 'pierogi-system-'));
  });

  afterAll(async () => {
    for (const p of processes.values()) if (p.running) await p.stop('SIGKILL');
    await iso?.cleanup();
  });

  it('ends with every order, bill and marketing count exactly right, through chaos and a SIGKILL', async () => {
    const isolation = iso;
    if (!isolation) throw new Error('no isolation');
    const started = Date.now();
    const code = await loadShopCode(SHOP_CODE_FILE);
    const endpoints = ENDPOINTS.filter((part) => code[part]);
    const victim = (process.env.SYSTEM_KILL ?? endpoints[SEED % endpoints.length]) as ShopPart;
    const port = await closedPort();
    const parts: ShopPart[] = [...endpoints, 'frontend'];
    for (const [index, part] of parts.entries()) {
      processes.set(
        part,
        new ShopProcess({
          part,
          root: ROOT,
          logFile: path.join(logDir, `${part}.log`),
          onDeclare: (name) => {
            declared.add(name);
            isolation.track(name);
          },
          env: {
            SHOP_CODE: SHOP_CODE_FILE,
            SHOP_SCHEMA: isolation.schema,
            SHOP_PREFIX: `${isolation.prefix}.`,
            AMQP_URL: isolation.amqpUrl,
            DATABASE_URL: isolation.databaseUrl,
            PORT: String(port),
            CHAOS_SEED: String(SEED * 100 + index * 10),
            CHAOS_RULES: JSON.stringify(chaosFor(part)),
          },
        }),
      );
    }
    const get = (part: ShopPart) => processes.get(part) as ShopProcess;
    // One after the other: the endpoints' queues and subscriptions exist before the first
    // request, and the processes do not race to create the same tables.
    for (const part of parts) await get(part).start();
    const frontend = get('frontend');
    const url = () => frontend.url ?? `http://127.0.0.1:${port}`;
    const ready = Date.now();

    // All along, Postgres backends of the shop are terminated and the broker closes the shop's
    // connections: each may cost a retry, never a process or an order.
    const faults = startFaults({
      pool: isolation.pool(),
      applicationName: `pierogi shop ${isolation.schema}`.slice(0, 63),
      amqpUrl: isolation.amqpUrl,
      connectionName: `pierogi shop ${isolation.prefix}.`,
      seed: SEED,
    });
    // Halfway, the victim dies without a chance to finish anything, and comes back.
    const plan = planOrders(SEED, ORDERS);
    let kill: Promise<KillReport> | undefined;
    const driven = await drive(plan, {
      url,
      concurrency: CUSTOMERS,
      runId: isolation.id,
      stepTimeoutMs: STEP_TIMEOUT_MS,
      stopAfterStuck: 5,
      onOrderDone: (done) => {
        if (kill || done < ORDERS * 0.4) return;
        kill = killAndRestart(get(victim), done);
        kill.catch(() => {}); // awaited below, once the customers are done
      },
    });
    const report = await kill;
    const faulted = await faults.stop();
    const drivenAt = Date.now();

    // Then: everything exactly as the customers left it, once nothing is left in flight (as far
    // as the broker can tell while the endpoints run: a hint for when to look).
    const placed = plan.slice(0, driven.placed);
    const prefix = `${isolation.prefix}.`;
    const endpointQueues = endpoints.map((part) => `${prefix}${part}`);
    const inFlightNow = () =>
      inFlight(isolation.amqpUrl, isolation.pool(), prefix, [...declared], endpointQueues);
    const check = () => endProblems(placed, driven, url(), isolation, Boolean(code.marketing));
    let problems: string[] = [];
    let lastInFlight: InFlight | undefined;
    let idleButWrong = 0;
    const settled = await waitFor(
      async () => {
        lastInFlight = await inFlightNow();
        if (total(lastInFlight) > 0) return false;
        problems = await check();
        lastInFlight = await inFlightNow();
        if (total(lastInFlight) > 0) return false;
        // Nothing is left that could change it: no need to wait for the deadline.
        if (problems.length > 0 && lastInFlight.countsUnacked) idleButWrong++;
        return problems.length === 0 || idleButWrong >= 3;
      },
      { timeoutMs: 30_000, what: 'the shop to settle' },
    ).then(
      () => true,
      () => false,
    );
    const matched = settled && problems.length === 0;
    const settledAt = Date.now();

    // Whatever the broker could tell: every endpoint stops (finishing and acking what it holds),
    // every queue of the run and the outbox must end empty with nobody consuming, and the end
    // state must still be right: a late copy applied again after the first look fails here.
    const drained = await drain({
      endpoints: endpoints.map(get),
      amqpUrl: isolation.amqpUrl,
      pool: isolation.pool(),
      queues: () => [...declared].filter((name) => name !== `${prefix}events`),
      errorQueue: `${prefix}error`,
      restartEnv: { CHAOS_RULES: '[]' }, // no chaos while taking what is left
      maxRestarts: 2,
    }).catch(
      (error: unknown): DrainResult => ({
        drained: false,
        restarts: 0,
        checked: 0,
        left: `the drain failed: ${String(error)}`,
        consumed: [],
        unclean: [],
      }),
    );
    const after = await check();
    const drainedAt = Date.now();

    // The frontend stops cleanly too.
    const stops = [...drained.unclean];
    const exit = await frontend.stop('SIGTERM');
    if (exit.code !== 0 || exit.forced) {
      stops.push(
        `frontend did not exit cleanly on SIGTERM (${exit.forced ? 'killed after 15 s' : `exit ${exit.signal ?? exit.code}`})`,
      );
    }
    const errors = await errorQueue(isolation.amqpUrl, `${prefix}error`);
    // What gave up was kept by the frontend for the page and `pnpm errors`: it must be nothing.
    const replay = await keptFailures(isolation);
    const processed = code.marketing ? await marketingProcessed(isolation.pool()) : undefined;

    // Every chaos rule met something: a rule that never fires tests nothing.
    const idle = parts.flatMap((part) =>
      chaosFor(part)
        .map(ruleName)
        .filter((rule) => !get(part).injections.has(rule))
        .map(
          (rule) =>
            `the chaos rule "${rule}" never fired in ${part} (a step renamed, or a path no longer taken?)`,
        ),
    );

    const summary = [
      `System test of ${SHOP_CODE}, seed ${SEED}: ${driven.placed} of ${ORDERS} orders by ${CUSTOMERS} customers at once`,
      `  started in ${ready - started} ms; orders placed in ${drivenAt - ready} ms; ${matched ? `right in ${settledAt - drivenAt} ms` : 'NOT right within 30 s'}; drained and checked again in ${drainedAt - settledAt} ms; total ${Date.now() - started} ms`,
      `  in flight seen by ${lastInFlight?.via ?? 'nothing'}; ${describeDrain(drained)}`,
      `  marketing: counts compared by filling and in all, ${processed === undefined ? 'no inbox to compare' : `and the ${processed} messages its inbox processed`}`,
      `  ${driven.requests} requests; retried: ${[...driven.retried].map(([s, n]) => `${n}× ${s}`).join(', ') || 'none'}`,
      report
        ? `  ${victim} (pid ${report.pid}) killed with SIGKILL after ${report.afterOrders} orders, ready again in ${report.restartMs} ms`
        : `  ${victim} was never killed`,
      `  ${describeFaults(faulted)}`,
      `  error queue: ${replay.summary}`,
      '  chaos injections:',
      ...[...processes.values()].map(
        (p) =>
          `    ${p.part.padEnd(9)} ${[...p.injections].map(([k, n]) => `${n}× ${k}`).join(', ') || 'none'}`,
      ),
    ].join('\n');
    console.log(summary);

    const failures = [
      ...(report ? [] : [`${victim} was never killed: too few orders got done`]),
      ...driven.stuck.map((s) => `customer stuck on ${s.orderId} at ${s.step}: ${s.problem}`),
      // Once it was right, anything wrong now came after (a late copy applied again, say).
      ...(matched
        ? after.map((p) => `wrong only after every endpoint stopped (it was right before): ${p}`)
        : after.length > 0
          ? after
          : problems.map((p) => `wrong until every endpoint stopped: ${p}`)),
      ...(settled ? [] : [`still in flight after 30 s: ${describeInFlight(lastInFlight)}`]),
      ...(drained.drained
        ? []
        : [
            `left with every endpoint stopped (after ${drained.restarts} restart(s)): ${drained.left}`,
          ]),
      ...drained.consumed.map((q) => `still consumed with every endpoint stopped: ${q}`),
      ...errors.map((e) => `in the error queue: ${e}`),
      ...replay.problems,
      ...(faulted.backends.size > 0 ? [] : ['no Postgres backend of the shop was terminated']),
      ...stops,
      ...idle,
    ];
    if (failures.length > 0) {
      const logs = [...processes.values()].map(
        (p) =>
          `  ${p.part} (#${p.incarnation}; whole log: ${path.join(logDir, `${p.part}.log`)}):\n${p.lastLines(25)}`,
      );
      expect.fail(
        [
          summary,
          '',
          `${failures.length} thing(s) are wrong:`,
          ...failures.slice(0, 40).map((f) => `  - ${f}`),
          ...(failures.length > 40 ? [`  … and ${failures.length - 40} more`] : []),
          '',
          'last log lines:',
          ...logs,
        ].join('\n'),
      );
    }
    rmSync(logDir, { recursive: true, force: true });
  }, 300_000);
});

describeOn('rabbitmq', 'a part of the shop in a process of its own', () => {
  it('refuses bad settings with a message that names them', async () => {
    const { code, output } = await runCommand(process.execPath, ['--import', 'tsx', SHOP_PROCESS], {
      cwd: ROOT,
      env: {
        SHOP_CODE: SHOP_CODE_FILE,
        SHOP_PARTS: 'orders,kitchen',
        CHAOS_RULES: '[{"kind":"explode"}]',
        LOG_LEVEL: 'info',
      },
    });
    expect(code, output).toBe(1);
    expect(output).toContain('SHOP_PARTS.1');
    expect(output).toContain('CHAOS_RULES.0.kind');
  });
});

function describeFaults(report: FaultReport): string {
  const backends = [...report.backends].map(([state, n]) => `${n}× ${state}`).join(', ');
  const broker = report.brokerUnavailable
    ? `broker connections not closed (${report.brokerUnavailable})`
    : `the broker closed the shop's connections ${report.brokerCloses}×`;
  return `Postgres backends terminated: ${backends || 'none'}; ${broker}`;
}

/**
 * The failed messages the frontend kept for the page and `pnpm errors`: there must be none. The
 * shop's retry policy outlasts this chaos, so a message that gave up is a bug. (Sending failed
 * messages back to an exact end state is tested in shared/workshop/test/errors.test.ts.)
 */
async function keptFailures(
  isolation: Isolation,
): Promise<{ summary: string; problems: string[] }> {
  const { rows } = await isolation
    .pool()
    .query<{ type: string | null; headers: Record<string, string> }>(
      'select type, headers from failed_messages order by id',
    )
    .catch(() => ({ rows: [] }));
  if (rows.length === 0) return { summary: 'nothing gave up', problems: [] };
  return {
    summary: `${rows.length} message(s) gave up`,
    problems: rows.map(
      (row) =>
        `gave up, kept for pnpm errors: ${row.type} at ${row.headers[WIRE.sourceEndpoint]}: ${row.headers[WIRE.exceptionMessage]}`,
    ),
  };
}

interface KillReport {
  readonly pid: number | undefined;
  readonly afterOrders: number;
  readonly restartMs: number;
}

async function killAndRestart(victim: ShopProcess, afterOrders: number): Promise<KillReport> {
  const pid = victim.pid;
  const killed = Date.now();
  await victim.stop('SIGKILL');
  // A chaos seed of its own: the new process does not replay the first one's injections.
  await victim.start({ CHAOS_SEED: String(SEED * 100 + 99) });
  return { pid, afterOrders, restartMs: Date.now() - killed };
}

/** Every way the shop's end state differs from what the customers did; [] if none. */
async function endProblems(
  placed: readonly PlannedOrder[],
  driven: DriveResult,
  url: string,
  isolation: Isolation,
  hasMarketing: boolean,
): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  let unanswered = 0;
  const reader = async () => {
    for (let order = placed[next++]; order; order = placed[next++]) {
      const expected = expectedAfter(order.steps, driven.accepted.get(order.orderId) ?? 0);
      const observed = await look(order.orderId, url);
      if (!observed) {
        problems.push(`${order.orderId}: GET /api/orders/${order.orderId} did not answer 200`);
        // A frontend that does not answer at all: the report says so, without looking at all.
        if (++unanswered >= 10) next = placed.length;
        continue;
      }
      const wrong = differences(expected, observed);
      if (wrong.length > 0) problems.push(`${order.orderId}: ${wrong.join('; ')}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, reader));
  problems.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (unanswered >= 10) problems.push(`the frontend answered none of ${unanswered} looks; gave up`);
  if (!hasMarketing) {
    problems.push('the shop code has no marketing endpoint, so nobody counts first fillings');
    return problems;
  }
  return [...problems, ...(await marketingProblems(placed, driven, isolation.pool()))];
}

/**
 * Marketing's counts by filling, their sum, and, when marketing keeps an inbox, how many
 * messages it processed: one per order that got an item. Which order a count came from is not
 * kept anywhere (the FirstItemAdded ids are random), but a copy counted twice and a message lost
 * on the same filling, which leave every count right, leave the inbox one message short.
 */
async function marketingProblems(
  placed: readonly PlannedOrder[],
  driven: DriveResult,
  pool: pg.Pool,
): Promise<string[]> {
  const problems: string[] = [];
  const expected = expectedFirstFillings(
    placed.filter((order) => (driven.accepted.get(order.orderId) ?? 0) > 0),
  );
  const counted = await marketingCounts(pool);
  for (const filling of new Set([...Object.keys(expected), ...Object.keys(counted)])) {
    const want = expected[filling as keyof typeof expected] ?? 0;
    const got = counted[filling] ?? 0;
    if (want !== got) {
      problems.push(`marketing counted ${got} order(s) starting with ${filling}, expected ${want}`);
    }
  }
  const orders = sum(Object.values(expected));
  const all = sum(Object.values(counted));
  if (all !== orders) {
    problems.push(`marketing counted ${all} first items in all, expected ${orders} (one an order)`);
  }
  const processed = await marketingProcessed(pool);
  if (processed !== undefined && processed !== orders) {
    problems.push(
      `marketing's inbox holds ${processed} processed message(s), expected ${orders} (one FirstItemAdded an order): ${processed < orders ? 'some were never counted' : 'more than one an order'}`,
    );
  }
  return problems;
}

function sum(numbers: readonly (number | undefined)[]): number {
  return numbers.reduce<number>((a, b) => a + (b ?? 0), 0);
}

function describeDrain(result: DrainResult): string {
  const restarts = result.restarts > 0 ? ` after ${result.restarts} restart(s)` : '';
  return result.drained
    ? `endpoints stopped, then ${result.checked} queues and the outbox empty with no consumer${restarts}`
    : `endpoints stopped, NOT drained${restarts}: ${result.left}`;
}

function describeInFlight(state: InFlight | undefined): string {
  if (!state) return 'unknown';
  const queues = Object.entries(state.queues)
    .filter(([, n]) => n > 0)
    .map(([q, n]) => `${n} in ${q}`);
  if (state.outboxRows > 0) queues.push(`${state.outboxRows} outbox row(s)`);
  return queues.join(', ') || 'nothing';
}

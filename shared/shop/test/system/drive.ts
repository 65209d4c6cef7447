// The pause between two polls of a condition (never a wait for something to happen).
import { setTimeout as pauseFor } from 'node:timers/promises';
import {
  describeStep,
  differences,
  type Expected,
  expectedAfter,
  type Observed,
  type PlannedOrder,
  type Step,
} from './customers.ts';

/** How long one look at an order may take: the shop answers reads in milliseconds. */
export const LOOK_TIMEOUT_MS = 3_000;

export interface DriveOptions {
  /** The frontend's address (read on each request: a restarted frontend may move). */
  readonly url: () => string;
  /** Customers at once. */
  readonly concurrency: number;
  /** Makes each request's idempotency-key unique to this run. */
  readonly runId: string;
  /** How long one change may take to show, and one request to be accepted. */
  readonly stepTimeoutMs: number;
  /** Stop placing orders after this many went wrong: the report has enough to show. */
  readonly stopAfterStuck: number;
  /** Called after each order is done (with how many are done). */
  readonly onOrderDone?: (done: number) => void;
}

export interface Stuck {
  readonly orderId: string;
  readonly step: string;
  readonly problem: string;
}

export interface DriveResult {
  placed: number;
  /** How many steps of each order the shop accepted (all of them, unless the customer got stuck). */
  readonly accepted: Map<string, number>;
  requests: number;
  /** Answers other than 202 that were retried, by status ("503", "network", "timeout");
   * "again" counts the accepted requests sent a second time, "late copy" the late copies. */
  readonly retried: Map<string, number>;
  readonly stuck: Stuck[];
}

/**
 * Customers placing the planned orders over HTTP, `concurrency` at once. A customer retries an
 * answer of 5xx (or no answer) with the same idempotency-key, and waits until the change shows
 * (in the order and in its bill) before the next click: the shop does not promise an order
 * between separate commands, so this is what makes the end state well defined.
 */
export async function drive(
  orders: readonly PlannedOrder[],
  options: DriveOptions,
): Promise<DriveResult> {
  const result: DriveResult = {
    placed: 0,
    accepted: new Map(),
    requests: 0,
    retried: new Map(),
    stuck: [],
  };
  let next = 0;
  let done = 0;
  const customer = async () => {
    for (;;) {
      if (result.stuck.length >= options.stopAfterStuck) return;
      const order = orders[next++];
      if (!order) return;
      result.placed++;
      const stuck = await place(order, options, result);
      if (stuck) result.stuck.push(stuck);
      options.onOrderDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, customer));
  return result;
}

async function place(
  order: PlannedOrder,
  options: DriveOptions,
  result: DriveResult,
): Promise<Stuck | undefined> {
  for (const [index, step] of order.steps.entries()) {
    // A late copy is the request of the step it copies, with that step's idempotency-key.
    const key = `${options.runId}-${order.orderId}-${step.copyOf ?? index}`;
    if (step.copyOf !== undefined) {
      result.retried.set('late copy', (result.retried.get('late copy') ?? 0) + 1);
    }
    try {
      await click(order.orderId, step, key, options, result);
      if (step.again) {
        result.retried.set('again', (result.retried.get('again') ?? 0) + 1);
        await click(order.orderId, step, key, options, result);
      }
    } catch (error) {
      return { orderId: order.orderId, step: describeStep(step), problem: String(error) };
    }
    result.accepted.set(order.orderId, index + 1);
    const expected = expectedAfter(order.steps, index + 1);
    const problems = await waitUntilShown(order.orderId, expected, options);
    if (problems.length > 0) {
      return {
        orderId: order.orderId,
        step: `${describeStep(step)} (step ${index + 1} of ${order.steps.length})`,
        problem: `after ${options.stepTimeoutMs} ms still ${problems.join('; ')}`,
      };
    }
  }
  return undefined;
}

function requestFor(orderId: string, step: Step): { method: string; path: string; body?: string } {
  const order = `/api/orders/${orderId}`;
  if (step.kind === 'add') {
    return {
      method: 'POST',
      path: `${order}/items`,
      body: JSON.stringify({ filling: step.filling }),
    };
  }
  if (step.kind === 'remove') return { method: 'DELETE', path: `${order}/items/${step.filling}` };
  return { method: 'POST', path: `${order}/submit` };
}

/**
 * Sends one click until the shop accepts it (202), each request given what is left of the
 * step's time; 4xx answers are the test's failure.
 */
async function click(
  orderId: string,
  step: Step,
  key: string,
  options: DriveOptions,
  result: DriveResult,
): Promise<void> {
  const { method, path, body } = requestFor(orderId, step);
  const deadline = Date.now() + options.stepTimeoutMs;
  let pause = 10;
  let last = '';
  while (Date.now() < deadline) {
    result.requests++;
    const waitMs = Math.max(1, deadline - Date.now());
    let status: string;
    try {
      const response = await fetch(`${options.url()}${path}`, {
        method,
        headers: {
          'idempotency-key': key,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body } : {}),
        signal: AbortSignal.timeout(waitMs),
      });
      const text = await response.text();
      if (response.status === 202) return;
      if (response.status < 500) {
        throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
      }
      status = String(response.status);
      last = `${status} ${text}`;
    } catch (error) {
      if (timedOut(error)) {
        status = 'timeout';
        last = `no answer within ${waitMs} ms`;
      } else if (error instanceof TypeError) {
        status = 'network'; // fetch's "no answer" is a TypeError
        last = `no answer: ${String(error.cause ?? error)}`;
      } else {
        throw error;
      }
    }
    result.retried.set(status, (result.retried.get(status) ?? 0) + 1);
    await pauseFor(pause);
    pause = Math.min(pause * 2, 500);
  }
  throw new Error(`${method} ${path} not accepted within ${options.stepTimeoutMs} ms: ${last}`);
}

/** Polls the order until it shows `expected`; returns what still differs at the deadline. */
async function waitUntilShown(
  orderId: string,
  expected: Expected,
  options: DriveOptions,
): Promise<string[]> {
  const deadline = Date.now() + options.stepTimeoutMs;
  let pause = 5;
  let problems: string[] = ['no answer yet'];
  for (;;) {
    const left = Math.max(100, deadline - Date.now());
    const observed = await look(orderId, options.url(), Math.min(LOOK_TIMEOUT_MS, left));
    if (observed) {
      problems = differences(expected, observed);
      if (problems.length === 0) return [];
    }
    if (Date.now() >= deadline) return problems;
    await pauseFor(pause);
    pause = Math.min(pause * 1.5, 200);
  }
}

/** GET /api/orders/:id; undefined when the shop does not answer it (within `timeoutMs`). */
export async function look(
  orderId: string,
  url: string,
  timeoutMs = LOOK_TIMEOUT_MS,
): Promise<Observed | undefined> {
  try {
    const response = await fetch(`${url}/api/orders/${orderId}`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status !== 200) return undefined;
    return (await response.json()) as Observed;
  } catch {
    return undefined;
  }
}

/** Whether a request was given up by its AbortSignal.timeout. */
function timedOut(error: unknown): boolean {
  return error instanceof Error && error.name === 'TimeoutError';
}

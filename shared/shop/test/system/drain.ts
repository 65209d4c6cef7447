// The pause between two polls of a condition (never a wait for something to happen).
import { setTimeout as pauseFor } from 'node:timers/promises';
import type pg from 'pg';
import { countOutbox, type QueueState, queueStates } from './inFlight.ts';
import type { ShopProcess } from './shopProcess.ts';

export interface DrainOptions {
  /** The endpoint processes (not the frontend: it consumes nothing). */
  readonly endpoints: readonly ShopProcess[];
  readonly amqpUrl: string;
  readonly pool: pg.Pool;
  /** Every queue of the run: the endpoints' queues, their delay queues and the error queue. */
  readonly queues: () => readonly string[];
  readonly errorQueue: string;
  /** Settings for the endpoints started again to take what is left (no chaos, say). */
  readonly restartEnv: Readonly<Record<string, string>>;
  /** How many times the endpoints may be started again before giving up. */
  readonly maxRestarts: number;
}

export interface DrainResult {
  /** Every queue but the error queue is empty with nobody consuming, and so is the outbox. */
  readonly drained: boolean;
  /** How many times the endpoints were started again to take what was left. */
  readonly restarts: number;
  /** The queues checked in the end. */
  readonly checked: number;
  /** What is left (when not drained), e.g. "2 in x.orders, 1 outbox row(s)". */
  readonly left: string;
  /** Queues someone still consumes from with every endpoint stopped. */
  readonly consumed: string[];
  /** Endpoints that did not exit cleanly on SIGTERM. */
  readonly unclean: string[];
}

interface Snapshot {
  readonly queues: Map<string, QueueState>;
  readonly outboxRows: number;
}

/**
 * Stops every endpoint with SIGTERM (each finishes and acks the messages it holds), then checks,
 * with no consumer attached, that nothing is left to do: ready counts are exact then, and the
 * outbox is quiet. A message in a delay queue comes back to its endpoint's queue when its time is
 * up, so the check waits until the delay queues are empty too; whatever is then left has nobody to
 * handle it, so the endpoints are started again to take it, and stopped again, and checked again.
 */
export async function drain(options: DrainOptions): Promise<DrainResult> {
  const unclean: string[] = [];
  const consumed = new Set<string>();
  for (let restarts = 0; ; restarts++) {
    for (const endpoint of options.endpoints) {
      if (!endpoint.running) continue;
      const exit = await endpoint.stop('SIGTERM');
      if (exit.code !== 0 || exit.forced) {
        unclean.push(
          `${endpoint.part} did not exit cleanly on SIGTERM (${exit.forced ? 'killed after 15 s' : `exit ${exit.signal ?? exit.code}`})`,
        );
      }
    }
    const queues = options.queues();
    // The longest a delayed retry can wait before it is back in its endpoint's queue.
    const longestDelay = Math.max(
      0,
      ...queues.map((q) => Number(/\.delay-(\d+)ms$/.exec(q)?.[1] ?? 0)),
    );
    const deadline = Date.now() + longestDelay + 2_000;
    let snapshot: Snapshot;
    for (;;) {
      snapshot = {
        queues: await queueStates(options.amqpUrl, queues),
        outboxRows: await countOutbox(options.pool),
      };
      for (const [queue, state] of snapshot.queues) {
        // The frontend keeps the error queue in a table for the page: it consumes it by design.
        if (state.consumers > 0 && queue !== options.errorQueue) {
          consumed.add(`${queue} (${state.consumers})`);
        }
      }
      const left = describeLeft(snapshot, options.errorQueue);
      if (left === '') {
        return {
          drained: true,
          restarts,
          checked: snapshot.queues.size,
          left,
          consumed: [...consumed],
          unclean,
        };
      }
      const delayed = [...snapshot.queues].some(([q, s]) => isDelayQueue(q) && s.ready > 0);
      if (!delayed || Date.now() >= deadline) break; // left with nobody to handle it
      await pauseFor(50);
    }
    if (restarts >= options.maxRestarts) {
      return {
        drained: false,
        restarts,
        checked: snapshot.queues.size,
        left: describeLeft(snapshot, options.errorQueue),
        consumed: [...consumed],
        unclean,
      };
    }
    // Start them again to take what is left, wait until they have taken it, and go again.
    for (const endpoint of options.endpoints) await endpoint.start(options.restartEnv);
    const until = Date.now() + longestDelay + 10_000;
    while (Date.now() < until) {
      const states = await queueStates(options.amqpUrl, options.queues());
      const outboxRows = await countOutbox(options.pool);
      if (describeLeft({ queues: states, outboxRows }, options.errorQueue) === '') break;
      await pauseFor(50);
    }
  }
}

/** What is left to do, e.g. "2 in x.orders, 1 outbox row(s)"; '' when nothing. */
function describeLeft(snapshot: Snapshot, errorQueue: string): string {
  const left = [...snapshot.queues]
    .filter(([queue, state]) => queue !== errorQueue && state.ready > 0)
    .map(([queue, state]) => `${state.ready} in ${queue}`);
  if (snapshot.outboxRows > 0) left.push(`${snapshot.outboxRows} outbox row(s)`);
  return left.join(', ');
}

function isDelayQueue(queue: string): boolean {
  return /\.delay-\d+ms$/.test(queue);
}

import { canForceCloseConnections, forceCloseConnections } from '@pierogi/shared/testing';
import type pg from 'pg';

/** What the fault loop did, for the summary. */
export interface FaultReport {
  /** Postgres backends of the shop terminated, by what they were doing then. */
  readonly backends: Map<string, number>;
  /** Times the broker closed the shop's connections. */
  brokerCloses: number;
  /** Why the broker's connections could not be closed here, if they could not. */
  brokerUnavailable?: string;
}

/**
 * Faults from outside, while the customers shop: every `backendEveryMs` one Postgres backend of
 * the shop's processes is terminated (an idle pooled one, one inside a transaction, the
 * dispatcher's LISTEN connection: whichever the draw gives), and every `brokerEveryMs` the
 * broker closes every connection of the shop. Stop it with the returned function.
 */
export function startFaults(options: {
  readonly pool: pg.Pool;
  /** The shop's processes name their Postgres connections so. */
  readonly applicationName: string;
  readonly amqpUrl: string;
  /** ...and their broker connections so. */
  readonly connectionName: string;
  readonly seed: number;
  readonly backendEveryMs?: number;
  readonly brokerEveryMs?: number;
}): { stop: () => Promise<FaultReport> } {
  const report: FaultReport = { backends: new Map(), brokerCloses: 0 };
  let state = options.seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
  let stopped = false;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const backends = (async () => {
    while (!stopped) {
      await sleep(options.backendEveryMs ?? 1_500);
      if (stopped) break;
      const { rows } = await options.pool
        .query<{ pid: number; state: string | null; query: string }>(
          'select pid, state, query from pg_stat_activity where application_name = $1',
          [options.applicationName],
        )
        .catch(() => ({ rows: [] }));
      const victim = rows[Math.floor(random() * rows.length)];
      if (!victim) continue;
      const what = /^listen /i.test(victim.query) ? 'listening' : (victim.state ?? 'unknown');
      await options.pool.query('select pg_terminate_backend($1)', [victim.pid]).catch(() => {});
      report.backends.set(what, (report.backends.get(what) ?? 0) + 1);
    }
  })();

  const broker = (async () => {
    if (!(await canForceCloseConnections(options.amqpUrl))) {
      report.brokerUnavailable = 'neither rabbitmqctl nor the management API answers here';
      return;
    }
    while (!stopped) {
      await sleep(options.brokerEveryMs ?? 6_000);
      if (stopped) break;
      const closed = await forceCloseConnections(options.amqpUrl, options.connectionName).catch(
        () => 0,
      );
      if (closed > 0) report.brokerCloses++;
    }
  })();

  return {
    async stop() {
      stopped = true;
      await Promise.all([backends, broker]);
      return report;
    },
  };
}

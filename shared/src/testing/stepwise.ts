import type { StepHook } from '../bus/steps.ts';
import type { ActorRun } from './interleavingExplorer.ts';

type Event =
  | { kind: 'step'; label: string }
  | { kind: 'done' }
  | { kind: 'failed'; error: unknown };

export interface StepwiseOptions {
  /**
   * Errors after which the code runs again at once, as a delivery that failed is retried — e.g.
   * a `ConcurrencyError`: the other copy changed the document first. Default: none (the error
   * ends the exploration).
   */
  readonly retryWhen?: (error: unknown) => boolean;
  /** How many times in a row before the error ends the exploration after all. Default 10. */
  readonly maxRetries?: number;
}

/**
 * Turns code that runs its steps through a {@link StepHook} — the library's strategies do — into
 * an actor for the interleaving explorer: each `around(step)` becomes a point where the explorer
 * may let another actor go first, or crash this one. So the explorer checks the library's own
 * code, not a copy of its algorithm.
 *
 * The code must touch shared state only inside `around` (or between two of them through stores
 * that answer without real I/O, like the in-memory ones), or the order is not the explorer's.
 */
export function stepwise<Stores>(
  run: (stores: Stores, steps: StepHook, attempt: number) => Promise<void>,
  options: StepwiseOptions = {},
): ActorRun<Stores> {
  const maxRetries = options.maxRetries ?? 10;
  const retryWhen = options.retryWhen ?? (() => false);
  /** The run, tried again at once when it fails as a delivery would be retried. */
  const delivered = async (
    stores: Stores,
    steps: StepHook,
    attempt: number,
    retried: (why: string) => void,
  ) => {
    for (let retry = 0; ; retry++) {
      try {
        return await run(stores, steps, attempt);
      } catch (error) {
        if (!retryWhen(error) || retry >= maxRetries) throw error;
        retried(error instanceof Error ? error.name : String(error));
      }
    }
  };
  return async function* (stores, attempt) {
    // The first step after a retry says so in its label: a trace shows why the code starts over.
    let retriedAfter: string | undefined;
    let report: (event: Event) => void = () => {};
    let arrived = new Promise<Event>((resolve) => {
      report = resolve;
    });
    let proceed: () => void = () => {};
    const steps: StepHook = {
      async around(step, _message, work) {
        const allowed = new Promise<void>((resolve) => {
          proceed = resolve;
        });
        const label =
          retriedAfter === undefined ? step : `${step} (tried again after ${retriedAfter})`;
        retriedAfter = undefined;
        report({ kind: 'step', label });
        await allowed;
        return work();
      },
    };
    delivered(stores, steps, attempt, (why) => {
      retriedAfter = why;
    }).then(
      () => report({ kind: 'done' }),
      (error: unknown) => report({ kind: 'failed', error }),
    );
    for (;;) {
      const event = await arrived;
      arrived = new Promise<Event>((resolve) => {
        report = resolve;
      });
      if (event.kind === 'done') return;
      if (event.kind === 'failed') throw event.error;
      yield event.label;
      // The explorer chose this step: let it run, up to the next step or the end.
      proceed();
    }
  };
}

import type { Counterexample, CounterexampleStep } from './counterexample.ts';
import type { CheckResult } from './modelChecker.ts';
import type { HandlerState, HandlerStep } from './models/messageHandler.ts';

/**
 * From a model checker's trace to a counterexample people can read: each transition of the
 * trace becomes the steps it stands for — who did what to which message — read off the state
 * before and the state after it.
 */
export interface TraceReading<S> {
  /** What was explored: "the final handler, 2 messages, up to 3 failures". */
  readonly title: string;
  /** The steps one transition stands for (none for a transition that changes nothing visible). */
  readonly describe: (before: S, after: S, action: string) => readonly CounterexampleStep[];
  /** What the last state shows, given the invariant it breaks. */
  readonly outcome?: (last: S, invariant: string) => string | undefined;
}

/** The counterexample of a check that found a violation; undefined when every invariant held. */
export function counterexampleOfTrace<S>(
  result: CheckResult<S>,
  reading: TraceReading<S>,
): Counterexample | undefined {
  const violation = result.violation;
  if (!violation) return undefined;
  const steps = violation.trace.flatMap((step, i) => {
    const before = violation.trace[i - 1];
    return before ? reading.describe(before.state, step.state, step.action) : [];
  });
  const last = violation.trace.at(-1)?.state as S;
  const outcome = reading.outcome?.(last, violation.invariant);
  return {
    title: reading.title,
    invariant: violation.invariant,
    steps,
    ...(outcome ? { outcome } : {}),
    explored: explored(result),
  };
}

/** How much a check explored: "21 states in 1 ms". */
export function explored(result: CheckResult<unknown>): string {
  return `${result.distinctStates} states in ${Math.max(1, Math.round(result.elapsedMs))} ms`;
}

export interface HandlerNames {
  /** The type of the message handled ("AddItem"). */
  readonly input?: string;
  /** The type of the message it publishes ("ItemAdded"). */
  readonly output?: string;
  /** The participant that handles it ("handler"). */
  readonly handler?: string;
}

/** Where a failure struck, by the step the worker had reached. */
const FAILED_AT: Record<HandlerStep, string> = {
  idle: 'crashes',
  received: 'crashes before doing anything',
  checked: 'crashes after the check',
  stored: 'crashes after the commit',
  published: 'crashes after the publish',
  committed: 'crashes after the commit',
};

/**
 * The counterexample of a check of the message-handler model (shared/src/testing/models/
 * messageHandler.ts), whatever the handler's steps are called: deliveries, checks, commits,
 * publishes, acks, failures and the error queue are read off the states.
 */
export function handlerCounterexample(
  result: CheckResult<HandlerState>,
  names: HandlerNames & { readonly title?: string } = {},
): Counterexample | undefined {
  const input = names.input ?? 'AddItem';
  const output = names.output ?? 'ItemAdded';
  const handler = names.handler ?? 'handler';
  const first = result.violation?.trace[0]?.state;
  const title =
    names.title ??
    (first
      ? `${result.model}: ${plural(first.queue.length, 'message')}, up to ${plural(first.failuresLeft, 'failure')}`
      : result.model);
  const message = (id: string) => `${input} ${id}`;
  /** An outgoing message by its id; a handler may publish one with none (''). */
  const outgoing = (id: string) => (id ? `${output} ${id}` : `${output} with no id`);

  const describe = (b: HandlerState, a: HandlerState, action: string): CounterexampleStep[] => {
    const steps: CounterexampleStep[] = [];
    const id = a.worker.input ?? b.worker.input ?? '';
    const about = id ? { message: message(id) } : {};
    if (b.worker.step === 'idle' && a.worker.step !== 'idle') {
      const attempt = (b.queue.find((d) => d.id === id)?.attempts ?? 0) + 1;
      steps.push({
        actor: 'broker',
        to: handler,
        action: attempt === 1 ? 'delivers' : `delivers again, attempt ${attempt}`,
        ...about,
      });
    }
    if (a.failuresLeft < b.failuresLeft) {
      steps.push({ actor: handler, action: FAILED_AT[b.worker.step], ...about });
      const parked = a.errorQueue.filter((m) => !b.errorQueue.includes(m));
      for (const m of parked) {
        const attempts = (b.queue.find((d) => d.id === m)?.attempts ?? 0) + 1;
        steps.push({
          actor: 'broker',
          to: 'error queue',
          action: `gives up after ${plural(attempts, 'attempt')}`,
          message: message(m),
        });
      }
      return steps;
    }
    if (a.worker.duplicate !== undefined && a.worker.duplicate !== b.worker.duplicate) {
      steps.push({
        actor: handler,
        to: 'database',
        action: a.worker.duplicate ? 'finds it processed already' : 'finds it new',
        ...about,
      });
    }
    for (const [m, count] of Object.entries(a.applied)) {
      if (count <= (b.applied[m] ?? 0)) continue;
      const outgoing = a.processed[m] ? ` and the outgoing id ${a.processed[m]}` : '';
      steps.push({
        actor: handler,
        to: 'database',
        action: `${count > 1 ? `commits the change again (${count}×)` : 'commits the change'}${outgoing}`,
        message: message(m),
      });
    }
    for (const out of added(b.sent, a.sent)) {
      steps.push({
        actor: handler,
        to: 'broker',
        action: `publishes ${outgoing(out.id)}`,
        message: message(out.input),
      });
    }
    if (b.worker.step !== 'idle' && a.worker.step === 'idle' && a.queue.length < b.queue.length) {
      steps.push({ actor: handler, to: 'broker', action: 'acks', ...about });
    }
    // A step that changes nothing outside the worker (a skip): its name says what it did.
    if (steps.length === 0)
      steps.push({ actor: handler, action: `${action} — changes nothing`, ...about });
    return steps;
  };

  const outcome = (s: HandlerState, invariant: string): string => {
    const outputs = (m: string) => s.sent.filter((o) => o.input === m).map((o) => outgoing(o.id));
    const parked = (m: string) => s.errorQueue.includes(m);
    const handling = (m: string) => s.worker.step !== 'idle' && s.worker.input === m;
    const queued = (m: string) => s.queue.some((d) => d.id === m);
    /** Where the message is at the end of the trace: acked, in the error queue, or not yet. */
    const whereIs = (m: string) =>
      parked(m)
        ? `${message(m)} is in the error queue`
        : handling(m)
          ? `the ${handler} is still handling ${message(m)} (not acked yet)`
          : queued(m)
            ? `${message(m)} is back in the queue (not acked yet)`
            : `${message(m)} is acked`;
    /** Nothing more will happen to the message: acked, or in the error queue. */
    const settled = (m: string) => !handling(m) && !queued(m);
    const inputs = [
      ...new Set([
        ...s.queue.map((d) => d.id),
        ...Object.keys(s.applied),
        ...s.sent.map((o) => o.input),
        ...s.errorQueue,
      ]),
    ].sort();
    switch (invariant) {
      case 'no ghost messages': {
        const m = s.sent.find((o) => !s.applied[o.input])?.input;
        if (m)
          return settled(m)
            ? `${outputs(m).join(' and ')} went out for ${message(m)}, whose change was never committed${parked(m) ? `, and ${whereIs(m)}` : ''}`
            : `${outputs(m).join(' and ')} went out for ${message(m)}, whose change is not committed yet, and ${whereIs(m)}`;
        break;
      }
      case 'no lost messages': {
        const m = Object.keys(s.applied).find((i) => !s.sent.some((o) => o.input === i));
        if (m)
          return parked(m)
            ? `the change of ${message(m)} is committed, no ${output} for it went out, and ${whereIs(m)}: someone can send it back`
            : settled(m)
              ? `the change of ${message(m)} is committed, ${whereIs(m)}, and no ${output} for it ever went out`
              : `the change of ${message(m)} is committed, no ${output} for it has gone out yet, and ${whereIs(m)}`;
        break;
      }
      case 'no duplicate processing': {
        const m = Object.keys(s.applied).find((i) => (s.applied[i] ?? 0) > 1);
        if (m) return `the change of ${message(m)} was committed ${s.applied[m]} times`;
        break;
      }
      case 'consistent output': {
        const m = inputs.find((i) => new Set(outputs(i)).size > 1);
        if (m)
          return `${message(m)} went out as ${[...new Set(outputs(m))].join(' and ')}: downstream cannot tell they are copies of one message`;
        break;
      }
    }
    return inputs
      .map(
        (m) =>
          `${message(m)}: committed ${s.applied[m] ?? 0}×, published ${outputs(m).join(', ') || 'nothing'}${s.errorQueue.includes(m) ? ', in the error queue' : s.queue.some((d) => d.id === m) ? ', still in the queue' : ''}`,
      )
      .join('; ');
  };

  return counterexampleOfTrace(result, { title, describe, outcome });
}

/** The entries of `after` that `before` does not have (as many times as they were added). */
function added<T extends { readonly input: string; readonly id: string }>(
  before: readonly T[],
  after: readonly T[],
): T[] {
  const left = [...before];
  return after.filter((entry) => {
    const i = left.findIndex((o) => o.input === entry.input && o.id === entry.id);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

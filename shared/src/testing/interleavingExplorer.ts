/**
 * Runs two or more actors — each an async generator that yields a label before every atomic
 * step — in every possible order of their steps, optionally crashing an actor before any step
 * (it then starts over, as a redelivered message would), and checks invariants after each run.
 * Executions are replayed from scratch with fresh stores, choice by choice, depth first.
 */

import type { Counterexample } from './counterexample.ts';

export type ActorRun<Stores> = (
  stores: Stores,
  attempt: number,
) => AsyncGenerator<string | BlockingStep, void, void>;

/**
 * A step that can wait: it runs only once `ready()` says so (a lock another actor holds is
 * free). Executions where every unfinished actor waits are reported as a deadlock.
 */
export interface BlockingStep {
  readonly label: string;
  ready(): boolean;
}

export interface ExplorerActor<Stores> {
  readonly name: string;
  readonly run: ActorRun<Stores>;
  /**
   * false: the explorer never crashes this actor. Two identical actors need crashes in only one
   * of them: the executions where the other crashes are the same ones with the names swapped.
   */
  readonly crashes?: boolean;
}

export interface ExploreOptions<Stores> {
  readonly stores: () => Stores;
  readonly actors: readonly ExplorerActor<Stores>[];
  readonly invariants: readonly {
    readonly name: string;
    readonly holds: (stores: Stores) => boolean | Promise<boolean>;
  }[];
  /** Crashes injected per execution (each makes one actor start over). Default 0. */
  readonly maxFailures?: number;
  /** A guard against an exploration that would never end. Default 100,000. */
  readonly maxExecutions?: number;
  /** What the stores hold at the end of a failing execution, for its report. */
  readonly describe?: (stores: Stores) => string | Promise<string>;
}

/** One event of an execution: an actor took a step, crashed before one, or all were stuck. */
export interface ExecutionStep {
  readonly kind: 'step' | 'crash' | 'deadlock';
  readonly actor: string;
  /** The step taken, or the one crashed before, or the one waited for. */
  readonly label: string;
}

export interface ExploreResult {
  readonly ok: boolean;
  readonly executions: number;
  readonly elapsedMs: number;
  readonly failure?: {
    readonly invariant: string;
    /** The execution as lines of text ("copy 1: load order"). */
    readonly trace: readonly string[];
    /** The same execution, event by event. */
    readonly steps: readonly ExecutionStep[];
    /** What the stores held at its end ({@link ExploreOptions.describe}). */
    readonly outcome?: string;
  };
}

interface Running<Stores> {
  readonly actor: ExplorerActor<Stores>;
  generator: AsyncGenerator<string | BlockingStep, void, void>;
  /** The step it will run next; undefined when finished. */
  next: BlockingStep | undefined;
  attempt: number;
  started: boolean;
}

type Choice = { kind: 'step' | 'crash'; actor: number };

export async function exploreInterleavings<Stores>(
  options: ExploreOptions<Stores>,
): Promise<ExploreResult> {
  const started = performance.now();
  const maxExecutions = options.maxExecutions ?? 100_000;
  let prefix: number[] = [];
  let executions = 0;
  for (;;) {
    executions++;
    if (executions > maxExecutions)
      throw new Error(`more than ${maxExecutions} executions; bound the actors or failures`);
    const run = await execute(options, prefix);
    if (run.failure) {
      return {
        ok: false,
        executions,
        elapsedMs: performance.now() - started,
        failure: run.failure,
      };
    }
    // Depth first: move the last choice point that has an untried option to its next option.
    let k = run.chosen.length - 1;
    while (k >= 0 && (run.chosen[k] as number) + 1 >= (run.options[k] as number)) k--;
    if (k < 0) return { ok: true, executions, elapsedMs: performance.now() - started };
    prefix = [...run.chosen.slice(0, k), (run.chosen[k] as number) + 1];
  }
}

async function execute<Stores>(options: ExploreOptions<Stores>, prefix: readonly number[]) {
  const stores = options.stores();
  const trace: string[] = [];
  const steps: ExecutionStep[] = [];
  const chosen: number[] = [];
  const counts: number[] = [];
  let failuresLeft = options.maxFailures ?? 0;
  const running: Running<Stores>[] = [];
  for (const actor of options.actors) {
    const generator = actor.run(stores, 1);
    const first = await generator.next();
    running.push({
      actor,
      generator,
      next: first.done ? undefined : asStep(first.value),
      attempt: 1,
      started: false,
    });
  }

  for (;;) {
    const choices: Choice[] = [];
    running.forEach((r, actor) => {
      if (r.next?.ready()) choices.push({ kind: 'step', actor });
    });
    if (failuresLeft > 0) {
      running.forEach((r, actor) => {
        if (r.next !== undefined && r.started && r.actor.crashes !== false) {
          choices.push({ kind: 'crash', actor });
        }
      });
    }
    if (choices.length === 0) {
      const waiting = running.filter((r) => r.next !== undefined);
      if (waiting.length === 0) break;
      trace.push(
        `deadlock: ${waiting.map((r) => `${r.actor.name} waits to "${r.next?.label}"`).join(', ')}`,
      );
      for (const r of waiting) {
        steps.push({ kind: 'deadlock', actor: r.actor.name, label: r.next?.label ?? '' });
      }
      return {
        chosen,
        options: counts,
        failure: { invariant: 'no deadlock', trace, steps, ...(await outcomeOf(options, stores)) },
      };
    }
    const index = prefix[chosen.length] ?? 0;
    chosen.push(index);
    counts.push(choices.length);
    const choice = choices[index] as Choice;
    const r = running[choice.actor] as Running<Stores>;
    if (choice.kind === 'crash') {
      failuresLeft--;
      trace.push(`${r.actor.name}: crashes before "${r.next?.label}" and starts over`);
      steps.push({ kind: 'crash', actor: r.actor.name, label: r.next?.label ?? '' });
      await r.generator.return(undefined);
      r.attempt++;
      r.generator = r.actor.run(stores, r.attempt);
      const first = await r.generator.next();
      r.next = first.done ? undefined : asStep(first.value);
      r.started = false;
      continue;
    }
    trace.push(`${r.actor.name}: ${r.next?.label}`);
    steps.push({ kind: 'step', actor: r.actor.name, label: r.next?.label ?? '' });
    r.started = true;
    const after = await r.generator.next();
    r.next = after.done ? undefined : asStep(after.value);
  }

  for (const invariant of options.invariants) {
    if (!(await invariant.holds(stores))) {
      return {
        chosen,
        options: counts,
        failure: { invariant: invariant.name, trace, steps, ...(await outcomeOf(options, stores)) },
      };
    }
  }
  return { chosen, options: counts };
}

async function outcomeOf<Stores>(
  options: ExploreOptions<Stores>,
  stores: Stores,
): Promise<{ outcome?: string }> {
  return options.describe ? { outcome: await options.describe(stores) } : {};
}

const ALWAYS = () => true;

function asStep(value: string | BlockingStep): BlockingStep {
  return typeof value === 'string' ? { label: value, ready: ALWAYS } : value;
}

/** An execution's trace as numbered lines. */
export function formatExecution(result: ExploreResult): string {
  if (!result.failure) return `every one of ${result.executions} executions keeps every invariant`;
  return [
    `"${result.failure.invariant}" broken in execution ${result.executions}:`,
    ...result.failure.trace.map((line, i) => `  ${String(i + 1).padStart(2)}. ${line}`),
    ...(result.failure.outcome ? [`  ⇒ ${result.failure.outcome}`] : []),
  ].join('\n');
}

/** How a failing execution is drawn as a {@link Counterexample}. */
export interface ExecutionPicture {
  /** What was explored ("two copies of AddItem a-1, one crash"). */
  readonly title: string;
  /** The participant a step acts on ("load order" → "orders"); none: the actor acts alone. */
  readonly targetOf?: (label: string) => string | undefined;
  /** The message a step is about, if the diagram should say so. */
  readonly messageOf?: (actor: string, label: string) => string | undefined;
  /** Left to right; by default the actors, then the targets as they appear. */
  readonly participants?: readonly string[];
}

/**
 * A failing execution as a counterexample people can read: one numbered step per event, each an
 * arrow from the actor to what it acted on. Undefined when every execution held.
 */
export function counterexampleOfExecution(
  result: ExploreResult,
  picture: ExecutionPicture,
): Counterexample | undefined {
  const failure = result.failure;
  if (!failure) return undefined;
  const actors = [...new Set(failure.steps.map((s) => s.actor))];
  return {
    title: picture.title,
    invariant: failure.invariant,
    participants: picture.participants ?? actors,
    steps: failure.steps.map((s) => {
      const message = picture.messageOf?.(s.actor, s.label);
      const about = message === undefined ? {} : { message };
      if (s.kind === 'crash') {
        return { actor: s.actor, action: `crashes before "${s.label}" and starts over`, ...about };
      }
      if (s.kind === 'deadlock') return { actor: s.actor, action: `waits to ${s.label}`, ...about };
      const to = picture.targetOf?.(s.label);
      return { actor: s.actor, action: s.label, ...(to === undefined ? {} : { to }), ...about };
    }),
    ...(failure.outcome ? { outcome: failure.outcome } : {}),
    explored: `${result.executions} executions in ${formatMs(result.elapsedMs)}`,
  };
}

function formatMs(ms: number): string {
  return ms < 1_000 ? `${Math.max(1, Math.round(ms))} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

/**
 * An explicit-state model checker for small state machines written in TypeScript: breadth-first
 * from the initial states, every enabled action in turn, each distinct state (by a canonical
 * key) visited once. Breadth-first means the first violation found has a shortest trace.
 * Deterministic: the same model gives the same states, in the same order, every run.
 */

export interface Action<S> {
  readonly name: string;
  /** The states this action can lead to from `state`; none when it is not enabled. */
  readonly next: (state: S) => readonly S[];
}

export interface Invariant<S> {
  readonly name: string;
  readonly holds: (state: S) => boolean;
  /**
   * `always`: must hold in every reachable state. `terminal`: only in states where no action is
   * enabled (the system has finished; "eventually" properties like "nothing lost").
   */
  readonly when?: 'always' | 'terminal';
}

export interface Model<S> {
  readonly name: string;
  readonly initial: readonly S[];
  readonly actions: readonly Action<S>[];
  readonly invariants: readonly Invariant<S>[];
  /** The canonical key of a state; two states with the same key are the same state. */
  readonly key?: (state: S) => string;
  /** Stop exploring beyond this many distinct states (a guard against a model that never ends). */
  readonly maxStates?: number;
}

export interface TraceStep<S> {
  readonly action: string;
  readonly state: S;
}

export interface CheckResult<S> {
  readonly model: string;
  readonly ok: boolean;
  readonly distinctStates: number;
  readonly transitions: number;
  /** The length of the longest shortest path from an initial state. */
  readonly depth: number;
  readonly elapsedMs: number;
  /** The first violated invariant and a shortest trace to it (its first step is the initial state). */
  readonly violation?: { readonly invariant: string; readonly trace: readonly TraceStep<S>[] };
}

interface Node<S> {
  readonly state: S;
  readonly parent: Node<S> | undefined;
  readonly action: string;
  readonly depth: number;
}

export class StateSpaceTooLargeError extends Error {
  override name = 'StateSpaceTooLargeError';
}

export function checkModel<S>(model: Model<S>): CheckResult<S> {
  const started = performance.now();
  const key = model.key ?? canonicalKey;
  const maxStates = model.maxStates ?? 1_000_000;
  const seen = new Set<string>();
  const frontier: Node<S>[] = [];
  let transitions = 0;
  let depth = 0;

  const finish = (violation?: CheckResult<S>['violation']): CheckResult<S> => ({
    model: model.name,
    ok: violation === undefined,
    distinctStates: seen.size,
    transitions,
    depth,
    elapsedMs: performance.now() - started,
    ...(violation ? { violation } : {}),
  });

  for (const state of model.initial) {
    const k = key(state);
    if (!seen.has(k)) {
      seen.add(k);
      frontier.push({ state, parent: undefined, action: 'initial', depth: 0 });
    }
  }

  for (let head = 0; head < frontier.length; head++) {
    const node = frontier[head] as Node<S>;
    depth = Math.max(depth, node.depth);
    const successors = model.actions.flatMap((action) =>
      action.next(node.state).map((state) => ({ action: action.name, state })),
    );
    const terminal = successors.length === 0;
    for (const invariant of model.invariants) {
      const applies = (invariant.when ?? 'always') === 'always' || terminal;
      if (applies && !invariant.holds(node.state)) {
        return finish({ invariant: invariant.name, trace: traceTo(node) });
      }
    }
    for (const successor of successors) {
      transitions++;
      const k = key(successor.state);
      if (seen.has(k)) continue;
      seen.add(k);
      if (seen.size > maxStates) {
        throw new StateSpaceTooLargeError(`${model.name}: more than ${maxStates} distinct states`);
      }
      frontier.push({
        state: successor.state,
        parent: node,
        action: successor.action,
        depth: node.depth + 1,
      });
    }
    frontier[head] = undefined as unknown as Node<S>; // let visited states be collected
  }
  return finish();
}

function traceTo<S>(node: Node<S>): TraceStep<S>[] {
  const steps: TraceStep<S>[] = [];
  for (let n: Node<S> | undefined = node; n; n = n.parent)
    steps.push({ action: n.action, state: n.state });
  return steps.reverse();
}

/** JSON with object keys sorted, so equal states give equal keys whatever the key order. */
export function canonicalKey(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

/** A counterexample as text: one numbered line per step, the action and the state after it. */
export function formatTrace<S>(
  result: CheckResult<S>,
  show: (state: S) => string = canonicalKey,
): string {
  if (!result.violation)
    return `${result.model}: every invariant holds (${result.distinctStates} states)`;
  const lines = result.violation.trace.map(
    (step, i) => `  ${String(i).padStart(2)}. ${step.action.padEnd(24)} ${show(step.state)}`,
  );
  return [
    `${result.model}: "${result.violation.invariant}" violated after ${lines.length - 1} steps:`,
    ...lines,
  ].join('\n');
}

/**
 * A named step of an algorithm (a load, a commit, a dispatch…). Strategies run every step that
 * touches shared state through a hook, so that a chaos monkey can fail or crash it on purpose
 * and the interleaving explorer can order the steps of two copies of a message. `Step` is the
 * set of names a hook knows: a name outside it is a type error, not a rule that never strikes.
 */
export interface StepHook<Step extends string = string> {
  around<T>(
    step: Step,
    message: { id?: string; type?: string; body?: unknown },
    work: () => Promise<T>,
  ): Promise<T>;
}

/** Runs every step as it is. */
export const PLAIN_STEPS: StepHook = { around: (_step, _message, work) => work() };

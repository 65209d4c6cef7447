/** A failure the chaos monkey injected on purpose (so logs and tests can tell it from a bug). */
export class SimulatedFailure extends Error {
  override name = 'SimulatedFailure';
}

/** A process crash at a named step, simulated by an exception nothing should catch and hide. */
export class SimulatedCrash extends SimulatedFailure {
  override name = 'SimulatedCrash';
}

/** A chaos rule names a step that does not exist where it runs: it would never strike. */
export class UnknownStepError extends Error {
  override name = 'UnknownStepError';

  constructor(
    readonly step: string,
    readonly validSteps: readonly string[],
  ) {
    super(`there is no step ${JSON.stringify(step)}; the steps are ${validSteps.join(', ')}`);
  }
}

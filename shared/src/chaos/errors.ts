/** A failure the chaos monkey injected on purpose (so logs and tests can tell it from a bug). */
export class SimulatedFailure extends Error {
  override name = 'SimulatedFailure';
}

/** A process crash at a named step, simulated by an exception nothing should catch and hide. */
export class SimulatedCrash extends SimulatedFailure {
  override name = 'SimulatedCrash';
}

export {
  CHAOS_KINDS,
  CHAOS_STEPS,
  Chaos,
  type ChaosKind,
  type ChaosOptions,
  type ChaosRule,
  type Injection,
} from './chaos.ts';
export { SimulatedCrash, SimulatedFailure, UnknownStepError } from './errors.ts';
export { randomFromMessage, type SeededRandom, seededRandom } from './random.ts';

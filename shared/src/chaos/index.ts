export {
  CHAOS_KINDS,
  Chaos,
  type ChaosKind,
  type ChaosOptions,
  type ChaosRule,
  type Injection,
} from './chaos.ts';
export { SimulatedCrash, SimulatedFailure } from './errors.ts';
export { randomFromMessage, type SeededRandom, seededRandom } from './random.ts';

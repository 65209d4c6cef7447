import { stableHash } from '../messages/deterministic.ts';

/**
 * A small, fast pseudo-random generator (mulberry32) from a 32-bit seed: the same seed gives the
 * same numbers in the same order, on every machine, so a chaos run can be replayed from its seed.
 */
export interface SeededRandom {
  readonly seed: number;
  /** A number in [0, 1). */
  next(): number;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  return {
    seed,
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    },
  };
}

/** Random numbers that a retry of the same message gets again, in the same order. */
export function randomFromMessage(messageId: string, purpose = ''): SeededRandom {
  return seededRandom(stableHash(`${messageId}/${purpose}`));
}

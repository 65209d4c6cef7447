export { deterministicId, ID_NAMESPACE, randomFromMessage, stableHash } from './deterministic.ts';
export { type SeededRandom, seededRandom } from './seededRandom.ts';

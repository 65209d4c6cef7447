export { deterministicId, ID_NAMESPACE, randomFromMessage, stableHash } from './deterministic.ts';
export { deterministicIds } from './deterministicIds.ts';
export {
  type Delivery,
  DocumentStrategy,
  type DocumentStrategyOptions,
  type EntityDocument,
  entity,
  type Loaded,
  type PendingMessages,
} from './documentStrategy.ts';
export { IdentityBased } from './identityBased.ts';
export { type SeededRandom, seededRandom } from './seededRandom.ts';

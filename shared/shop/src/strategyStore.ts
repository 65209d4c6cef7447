import type { DocumentStore, EntityDocument } from '@pierogi/shared';
import type { Entities } from './entities.ts';

/** What a library strategy keeps beside an entity's state. */
type Beside = Omit<EntityDocument<unknown>, 'state'>;

const BESIDE = ['processed', 'outbox', 'txId'] as const satisfies readonly (keyof Beside)[];

/**
 * The shop's documents as a library strategy (`DocumentOutboxInbox`, …) wants them. A strategy
 * reads and writes `{ state, outbox, … }`; the shop stores it flat, `{ ...state, outbox, … }`,
 * so that `shop.orders.load(id)` still gives an `Order` (to the page, to the checks), and every
 * load and save is still the chaos monkey's step `orders.load` / `orders.save`.
 *
 * A state must not have fields of its own named `processed`, `outbox` or `txId`: they are read
 * as the strategy's. The partition a strategy names is not used (the entities are one kind).
 */
export function strategyStore<T>(entities: Entities<T>): DocumentStore<EntityDocument<T>> {
  return {
    async load(_partition, id) {
      const { value, version } = await entities.load(id);
      return { value: value === undefined ? undefined : unflatten(value), version };
    },
    save(_partition, id, doc, expectedVersion) {
      const { state, ...beside } = doc;
      return entities.save(id, { ...state, ...beside }, expectedVersion);
    },
    async batch() {
      throw new Error('the shop saves one document at a time: a batch needs a DocumentStore');
    },
  };
}

/** `{ ...state, outbox, … }` as stored → `{ state, outbox, … }`. */
function unflatten<T>(stored: T): EntityDocument<T> {
  const state: Record<string, unknown> = {};
  const beside: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(stored as object)) {
    if ((BESIDE as readonly string[]).includes(field)) beside[field] = value;
    else state[field] = value;
  }
  return { ...beside, state: state as T };
}

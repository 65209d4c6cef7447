import { CHAOS_STEPS, STRATEGY_STEPS, type StrategyStep } from '@pierogi/shared';

/** The kinds of documents the shop keeps, one per endpoint that owns data. */
export const ENTITY_KINDS = ['orders', 'bills', 'marketing'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/**
 * Every step a chaos rule can name in the shop: the library strategies' steps, `handler` (just
 * before a handler runs), `ack` (after it, before the broker hears it is done) and the load and
 * save of each kind of document (`orders.save`…). Any other name is refused.
 */
export type ShopStep =
  | StrategyStep
  | (typeof CHAOS_STEPS)[number]
  | 'ack'
  | `${EntityKind}.${'load' | 'save'}`;

export const SHOP_STEPS: readonly ShopStep[] = [
  ...CHAOS_STEPS,
  'ack',
  ...ENTITY_KINDS.flatMap((kind) => [`${kind}.load`, `${kind}.save`] as const),
  ...STRATEGY_STEPS,
];

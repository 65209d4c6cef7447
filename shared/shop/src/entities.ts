import type { DocumentStore, Versioned } from '@pierogi/shared';
import type { Filling } from './contracts.ts';

/** An order as `orders` stores it. */
export interface Order {
  readonly id: string;
  /** One entry per portion, in the order they were added. */
  lines: Filling[];
  submitted: boolean;
}

/** What `billing` keeps per order. */
export interface Bill {
  readonly orderId: string;
  /** In cents. */
  total: number;
  items: number;
}

/** What `marketing` keeps: how many orders started with each filling. */
export interface FirstItems {
  counts: Partial<Record<Filling, number>>;
}

/**
 * The documents of one kind, by id: load with the version, save with the version you loaded
 * (someone else saved in between → `ConcurrencyError`).
 */
export class Entities<T> {
  constructor(
    private readonly store: DocumentStore<T>,
    private readonly kind: string,
  ) {}

  load(id: string): Promise<Versioned<T | undefined>> {
    return this.store.load(this.kind, id);
  }

  /** Returns the new version. `expectedVersion` 0 creates the document. */
  save(id: string, value: T, expectedVersion: number): Promise<number> {
    return this.store.save(this.kind, id, value, expectedVersion);
  }
}

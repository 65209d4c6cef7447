import {
  ConcurrencyError,
  type DocumentStore,
  type PgDocumentStore,
  type StepHook,
  type UnitOfWork,
  type Versioned,
} from '@pierogi/shared';
import type { Filling } from './contracts.ts';
import type { EntityKind, ShopStep } from './steps.ts';

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
  /** Invoices sent for this order (one per submitted order, if all goes well). */
  invoices?: number;
  /** The fillings charged, for exercises that charge each filling once. */
  fillings?: Filling[];
}

/** The id of marketing's one document (`FirstItems`), in every exercise that has marketing. */
export const FIRST_ITEMS_ID = 'first-items';

/** What `marketing` keeps: how many orders started with each filling. */
export interface FirstItems {
  counts: Partial<Record<Filling, number>>;
}

/**
 * The documents of one kind, by id: load with the version, save with the version you loaded
 * (someone else saved in between → `ConcurrencyError`). Loads and saves are steps the chaos
 * monkey can delay, fail or crash: `orders.load`, `orders.save`, `bills.save`, …
 *
 * A handler takes them from its message's unit of work (`context.orders`, or `in(context)`):
 * then each step names the message, so a chaos rule can pick it by type or body, and the writes
 * join the SQL transaction the unit of work holds, if a strategy opened one. Taken from the
 * shop (`shop.orders`), they belong to no message: each save commits at once, on a connection
 * of the pool.
 */
export class Entities<T extends object> {
  constructor(
    private readonly store: DocumentStore<T>,
    private readonly kind: EntityKind,
    private readonly steps?: StepHook<ShopStep>,
    /** The message's unit of work, when these are one message's documents. */
    private readonly work?: UnitOfWork,
  ) {}

  load(id: string): Promise<Versioned<T | undefined>> {
    return this.step('load', () => this.store.load(this.kind, id));
  }

  /** Returns the new version. `expectedVersion` 0 creates the document. */
  save(id: string, value: T, expectedVersion: number): Promise<number> {
    return this.step('save', () => this.store.save(this.kind, id, value, expectedVersion));
  }

  /**
   * Writes whatever is stored now away, with no version check: the last writer wins. Shown in
   * the exercises because it is how most code starts — and what optimistic concurrency replaces.
   */
  async overwrite(id: string, value: T): Promise<number> {
    for (;;) {
      const { version } = await this.store.load(this.kind, id);
      try {
        return await this.save(id, value, version);
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
      }
    }
  }

  /**
   * The same documents as one message's unit of work sees them: the steps name its message, and
   * loads and saves go through its SQL transaction when it holds one (they commit or roll back
   * with everything else in it).
   */
  in(context: UnitOfWork | { readonly work: UnitOfWork }): Entities<T> {
    const work = 'work' in context ? context.work : context;
    return new Entities<T>(this.storeFor(work), this.kind, this.steps, work);
  }

  /**
   * These documents as a library strategy's store (a `DocumentStore` whose partition is this
   * kind): for each message, as its unit of work sees them.
   */
  forStrategy(): (work: UnitOfWork | undefined) => DocumentStore<T> {
    return (work) => {
      const entities = work ? this.in(work) : this;
      return {
        load: (_partition, id) => entities.load(id),
        save: (_partition, id, value, expectedVersion) => entities.save(id, value, expectedVersion),
        batch: async () => {
          throw new Error('the shop saves one document at a time: a batch needs a DocumentStore');
        },
      };
    };
  }

  private storeFor(work: UnitOfWork): DocumentStore<T> {
    if (!work.transaction) return this.store;
    const store = this.store as Partial<Pick<PgDocumentStore<T>, 'within'>>;
    if (typeof store.within !== 'function') {
      throw new Error(`the ${this.kind} are not in Postgres: they cannot join a SQL transaction`);
    }
    return store.within(work.transaction);
  }

  private step<R>(name: 'load' | 'save', work: () => Promise<R>): Promise<R> {
    return this.steps
      ? this.steps.around(`${this.kind}.${name}`, this.work?.message ?? {}, work)
      : work();
  }
}

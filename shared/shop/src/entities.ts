import type {
  DocumentStore,
  Envelope,
  PgDocumentStore,
  StepHook,
  Versioned,
} from '@pierogi/shared';
import type pg from 'pg';
import type { Filling } from './contracts.ts';

/** An order as `orders` stores it. */
export interface Order {
  readonly id: string;
  /** One entry per portion, in the order they were added. */
  lines: Filling[];
  submitted: boolean;
  /**
   * Ids of the messages applied to this order, for exercises that remember them by hand. (A
   * library strategy keeps its own `processed` beside the state, not in it: see strategyStore.)
   */
  processed?: string[];
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

/** What `marketing` keeps: how many orders started with each filling. */
export interface FirstItems {
  counts: Partial<Record<Filling, number>>;
}

/**
 * The documents of one kind, by id: load with the version, save with the version you loaded
 * (someone else saved in between → `ConcurrencyError`). Loads and saves are steps the chaos
 * monkey can delay, fail or crash: `orders.load`, `orders.save`, `bills.save`, …
 */
export class Entities<T> {
  constructor(
    private readonly store: DocumentStore<T>,
    private readonly kind: string,
    private readonly steps?: StepHook,
    /** The message being handled, if any (so chaos rules can select by type or body). */
    private readonly current: () => Envelope | undefined = () => undefined,
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
        if ((error as Error).name !== 'ConcurrencyError') throw error;
      }
    }
  }

  /**
   * The same documents, loaded and saved in the transaction `client` has open (still through
   * the chaos monkey's steps): they commit or roll back with everything else in it.
   */
  within(client: pg.PoolClient): Entities<T> {
    const store = this.store as Partial<Pick<PgDocumentStore<T>, 'within'>>;
    if (typeof store.within !== 'function') {
      throw new Error(`the ${this.kind} are not in Postgres: they cannot join a SQL transaction`);
    }
    return new Entities<T>(store.within(client), this.kind, this.steps, this.current);
  }

  private step<R>(name: string, work: () => Promise<R>): Promise<R> {
    return this.steps
      ? this.steps.around(`${this.kind}.${name}`, this.current() ?? {}, work)
      : work();
  }
}

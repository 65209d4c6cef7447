import pg from 'pg';
import {
  ConcurrencyError,
  checkSize,
  DEFAULT_MAX_DOCUMENT_BYTES,
  type DocumentStore,
  type DocumentWrite,
  type Versioned,
} from './documentStore.ts';
import { checkOut, rollback } from './pool.ts';

/**
 * The document store on Postgres: one JSONB row per (partition, id) with its version. A write
 * is an update guarded by the version it read (or an insert for version 0), so a concurrent
 * writer makes it fail with a {@link ConcurrencyError} instead of being overwritten.
 *
 * On a pool each statement commits by itself. On a client in a transaction (see
 * {@link PgDocumentStore.within}) loads and saves are part of that transaction: they commit or
 * roll back with it.
 */
export class PgDocumentStore<T> implements DocumentStore<T> {
  /** The client of a transaction (from {@link within}), or undefined: the pool. */
  private transaction: pg.PoolClient | undefined;
  private savepoints = 0;

  constructor(
    private readonly db: pg.Pool,
    private readonly options: { table?: string; maxDocumentBytes?: number } = {},
  ) {}

  /**
   * The same table, read and written through `client`, in the transaction it has open. A load
   * there locks the row until the transaction ends (`for update`): handlers of the same document
   * wait for each other instead of failing each other's version check — with one busy document
   * (a counter for the whole shop) and several messages at a time, those failures would use up
   * a message's retries. (A row that does not exist yet is not locked: two first saves still
   * race, and the loser gets a ConcurrencyError.) Do not write the same document through the
   * pool while its transaction holds it: that waits for itself, forever.
   */
  within(client: pg.PoolClient): PgDocumentStore<T> {
    const store = new PgDocumentStore<T>(this.db, this.options);
    store.transaction = client;
    return store;
  }

  /** Where statements go: the transaction's client, or the pool. */
  private get queryable(): pg.Pool | pg.PoolClient {
    return this.transaction ?? this.db;
  }

  private get table(): string {
    return pg.escapeIdentifier(this.options.table ?? 'documents');
  }

  async install(): Promise<void> {
    await this.queryable.query(`create table if not exists ${this.table} (
      partition text not null,
      id text not null,
      version integer not null,
      body jsonb not null,
      primary key (partition, id)
    )`);
  }

  async load(partition: string, id: string): Promise<Versioned<T | undefined>> {
    const { rows } = await this.queryable.query<{ body: T; version: number }>(
      `select body, version from ${this.table} where partition = $1 and id = $2${this.transaction ? ' for update' : ''}`,
      [partition, id],
    );
    const row = rows[0];
    return row ? { value: row.body, version: row.version } : { value: undefined, version: 0 };
  }

  async save(partition: string, id: string, value: T, expectedVersion: number): Promise<number> {
    await this.write(this.queryable, partition, { id, value, expectedVersion });
    return expectedVersion + 1;
  }

  async batch(partition: string, writes: readonly DocumentWrite<T>[]): Promise<void> {
    if (this.transaction) return this.batchWithin(this.transaction, partition, writes);
    const client = await checkOut(this.db);
    let broken: Error | undefined;
    try {
      await client.query('begin');
      for (const w of writes) await this.write(client, partition, w);
      await client.query('commit');
    } catch (error) {
      broken = await rollback(client); // one that cannot even roll back is closed, not reused
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** All or nothing inside the client's transaction: a savepoint undoes this batch only. */
  private async batchWithin(
    client: pg.PoolClient,
    partition: string,
    writes: readonly DocumentWrite<T>[],
  ): Promise<void> {
    const savepoint = `document_batch_${++this.savepoints}`;
    await client.query(`savepoint ${savepoint}`);
    try {
      for (const w of writes) await this.write(client, partition, w);
      await client.query(`release savepoint ${savepoint}`);
    } catch (error) {
      await client.query(`rollback to savepoint ${savepoint}`).catch(() => {});
      throw error;
    }
  }

  private async write(
    db: pg.Pool | pg.PoolClient,
    partition: string,
    w: DocumentWrite<T>,
  ): Promise<void> {
    const maxBytes = this.options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
    let rowCount: number | null;
    if (w.value === undefined) {
      ({ rowCount } = await db.query(
        `delete from ${this.table} where partition = $1 and id = $2 and version = $3`,
        [partition, w.id, w.expectedVersion],
      ));
    } else if (w.expectedVersion === 0) {
      const json = checkSize(partition, w.id, w.value, maxBytes);
      ({ rowCount } = await db.query(
        `insert into ${this.table} (partition, id, version, body) values ($1, $2, 1, $3) on conflict do nothing`,
        [partition, w.id, json],
      ));
    } else {
      const json = checkSize(partition, w.id, w.value, maxBytes);
      ({ rowCount } = await db.query(
        `update ${this.table} set body = $4, version = version + 1 where partition = $1 and id = $2 and version = $3`,
        [partition, w.id, w.expectedVersion, json],
      ));
    }
    if (rowCount !== 1) {
      const { version } = await this.loadVersion(db, partition, w.id);
      throw new ConcurrencyError(
        `document ${partition}/${w.id} is at version ${version}, not ${w.expectedVersion}`,
      );
    }
  }

  private async loadVersion(
    db: pg.Pool | pg.PoolClient,
    partition: string,
    id: string,
  ): Promise<{ version: number }> {
    const { rows } = await db.query<{ version: number }>(
      `select version from ${this.table} where partition = $1 and id = $2`,
      [partition, id],
    );
    return { version: rows[0]?.version ?? 0 };
  }
}

import pg from 'pg';
import {
  ConcurrencyError,
  checkSize,
  DEFAULT_MAX_DOCUMENT_BYTES,
  type DocumentStore,
  type DocumentWrite,
  type Versioned,
} from './documentStore.ts';

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
  constructor(
    private readonly db: pg.Pool | pg.PoolClient,
    private readonly options: { table?: string; maxDocumentBytes?: number } = {},
    private readonly lockOnLoad = false,
  ) {}

  /**
   * The same table, read and written through `client`, in the transaction it has open. A load
   * there locks the row until the transaction ends (`for update`): handlers of the same document
   * wait for each other instead of failing each other's version check — with one busy document
   * (a counter for the whole shop) and several messages at a time, those failures would use up
   * a message's retries.
   */
  within(client: pg.PoolClient): PgDocumentStore<T> {
    return new PgDocumentStore<T>(client, this.options, true);
  }

  private get table(): string {
    return pg.escapeIdentifier(this.options.table ?? 'documents');
  }

  async install(): Promise<void> {
    await this.db.query(`create table if not exists ${this.table} (
      partition text not null,
      id text not null,
      version integer not null,
      body jsonb not null,
      primary key (partition, id)
    )`);
  }

  async load(partition: string, id: string): Promise<Versioned<T | undefined>> {
    const { rows } = await this.db.query<{ body: T; version: number }>(
      `select body, version from ${this.table} where partition = $1 and id = $2${this.lockOnLoad ? ' for update' : ''}`,
      [partition, id],
    );
    const row = rows[0];
    return row ? { value: row.body, version: row.version } : { value: undefined, version: 0 };
  }

  async save(partition: string, id: string, value: T, expectedVersion: number): Promise<number> {
    await this.write(this.db, partition, { id, value, expectedVersion });
    return expectedVersion + 1;
  }

  async batch(partition: string, writes: readonly DocumentWrite<T>[]): Promise<void> {
    if (isClient(this.db)) return this.batchWithin(this.db, partition, writes);
    const client = await this.db.connect();
    try {
      await client.query('begin');
      for (const w of writes) await this.write(client, partition, w);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /** All or nothing inside the client's transaction: a savepoint undoes this batch only. */
  private async batchWithin(
    client: pg.PoolClient,
    partition: string,
    writes: readonly DocumentWrite<T>[],
  ): Promise<void> {
    await client.query('savepoint document_batch');
    try {
      for (const w of writes) await this.write(client, partition, w);
      await client.query('release savepoint document_batch');
    } catch (error) {
      await client.query('rollback to savepoint document_batch').catch(() => {});
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

function isClient(db: pg.Pool | pg.PoolClient): db is pg.PoolClient {
  return 'release' in db;
}

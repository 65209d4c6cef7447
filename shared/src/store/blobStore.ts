import { randomUUID } from 'node:crypto';
import pg from 'pg';

/**
 * Binary objects by name, for the "side effects" algorithm: a handler that must produce
 * something too big or too foreign for the transactional store (a PDF, an image) uploads it
 * under a name unique to the attempt, after recording that name in the transactional store, and
 * publishes it only after the commit; the blobs of attempts that lost are deleted by name.
 *
 * Shaped so an S3 client could implement it one call each: `put` is PutObject, `get` is
 * GetObject (NoSuchKey becomes undefined), `delete` is DeleteObject (which does not say whether
 * the object existed, so a HeadObject first gives the boolean), and `list` is ListObjectsV2 with
 * `Prefix`, following continuation tokens. As in S3, `put` of a name that exists overwrites it,
 * and `list` returns names in UTF-8 byte order.
 */
export interface BlobStore {
  /** Stores `data` under `name`, replacing whatever was there. */
  put(name: string, data: Buffer, contentType?: string): Promise<void>;
  /** The blob's bytes, or undefined when there is no blob of that name. */
  get(name: string): Promise<Buffer | undefined>;
  /** Deletes the blob; true if it existed, false if there was nothing to delete. */
  delete(name: string): Promise<boolean>;
  /** The names that start with `prefix` (taken literally), in UTF-8 byte order. */
  list(prefix: string): Promise<string[]>;
}

/** A blob is larger than the store accepts. */
export class BlobTooLargeError extends Error {
  override name = 'BlobTooLargeError';
}

export const DEFAULT_MAX_BLOB_BYTES = 16 * 1024 * 1024;

function checkBlobSize(name: string, data: Buffer, maxBytes: number): void {
  if (data.byteLength > maxBytes) {
    throw new BlobTooLargeError(
      `blob ${name} is ${data.byteLength} bytes; the store accepts at most ${maxBytes}`,
    );
  }
}

/**
 * A blob name for one attempt at handling a message: `${messageId}/${purpose}/${uuid}`.
 *
 * The name is unique per attempt, not per message, on purpose. Two attempts of the same message
 * can run at once (a redelivery while the first is still going) and only one of them commits.
 * With a name per message the loser could overwrite the winner's upload after the winner
 * committed, or delete it while cleaning up after itself. With a name per attempt each attempt
 * only ever touches its own blob: the winner's name is the one recorded in the committed state,
 * and the loser's blob is found by its name (or by listing `${messageId}/${purpose}/`) and
 * deleted later.
 */
export function blobNameForAttempt(messageId: string, purpose: string): string {
  return `${messageId}/${purpose}/${randomUUID()}`;
}

/**
 * The blob store in a Map, with the Postgres store's semantics (the same tests run against
 * both). Buffers are copied in and out, so a caller cannot change a stored blob without `put`.
 */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, { data: Buffer; contentType: string | undefined }>();

  constructor(private readonly options: { maxBlobBytes?: number } = {}) {}

  async put(name: string, data: Buffer, contentType?: string): Promise<void> {
    checkBlobSize(name, data, this.options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES);
    this.blobs.set(name, { data: Buffer.from(data), contentType });
  }

  async get(name: string): Promise<Buffer | undefined> {
    const stored = this.blobs.get(name);
    return stored ? Buffer.from(stored.data) : undefined;
  }

  async delete(name: string): Promise<boolean> {
    return this.blobs.delete(name);
  }

  async list(prefix: string): Promise<string[]> {
    // Byte order of the UTF-8 names, as S3 and Postgres's "C" collation sort them.
    return [...this.blobs.keys()]
      .filter((name) => name.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }
}

/** The blob store as a table of bytea rows; fine for a workshop, S3 or similar in production. */
export class PgBlobStore implements BlobStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: { table?: string; maxBlobBytes?: number } = {},
  ) {}

  private get table(): string {
    return pg.escapeIdentifier(this.options.table ?? 'blobs');
  }

  async install(): Promise<void> {
    await this.pool.query(`create table if not exists ${this.table} (
      name text primary key,
      content_type text,
      data bytea not null,
      created_at timestamptz default now()
    )`);
  }

  async put(name: string, data: Buffer, contentType?: string): Promise<void> {
    checkBlobSize(name, data, this.options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES);
    await this.pool.query(
      `insert into ${this.table} (name, content_type, data) values ($1, $2, $3)
       on conflict (name) do update
       set content_type = excluded.content_type, data = excluded.data, created_at = now()`,
      [name, contentType ?? null, data],
    );
  }

  async get(name: string): Promise<Buffer | undefined> {
    const { rows } = await this.pool.query<{ data: Buffer }>(
      `select data from ${this.table} where name = $1`,
      [name],
    );
    return rows[0]?.data;
  }

  async delete(name: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`delete from ${this.table} where name = $1`, [name]);
    return rowCount === 1;
  }

  async list(prefix: string): Promise<string[]> {
    // starts_with, not LIKE: `%`, `_` and `\` in the prefix are plain characters here.
    const { rows } = await this.pool.query<{ name: string }>(
      `select name from ${this.table} where starts_with(name, $1) order by name collate "C"`,
      [prefix],
    );
    return rows.map((r) => r.name);
  }
}

import pg from 'pg';

/**
 * Tokens for token-based deduplication: a sender creates a token per outgoing message before
 * sending it; the receiver treats a message whose token is missing as a duplicate and deletes
 * the token (with the version it saw) when done. Storage is bounded by messages in flight, and
 * no clock is involved.
 */
export interface TokenStore {
  create(tokenId: string): Promise<void>;
  /** The token's version if it exists (the message was not processed yet), else undefined. */
  version(tokenId: string): Promise<number | undefined>;
  /**
   * Deletes the token if it is still at `version`; false when it was gone or changed. (Tokens
   * here are never re-created under the same id, so a version is always 1; the check matters
   * for stores that let a sender renew a token.)
   */
  deleteIfVersion(tokenId: string, version: number): Promise<boolean>;
  /** Deletes a token whatever its version (one its creator gave up before sending it). */
  discard(tokenId: string): Promise<void>;
  /** How many tokens exist (for the "bounded by in-flight messages" check). */
  count(): Promise<number>;
}

export class MemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, number>();

  async create(tokenId: string): Promise<void> {
    if (!this.tokens.has(tokenId)) this.tokens.set(tokenId, 1);
  }

  async version(tokenId: string): Promise<number | undefined> {
    return this.tokens.get(tokenId);
  }

  async deleteIfVersion(tokenId: string, version: number): Promise<boolean> {
    if (this.tokens.get(tokenId) !== version) return false;
    return this.tokens.delete(tokenId);
  }

  async discard(tokenId: string): Promise<void> {
    this.tokens.delete(tokenId);
  }

  async count(): Promise<number> {
    return this.tokens.size;
  }
}

export class PgTokenStore implements TokenStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly table = 'tokens',
  ) {}

  private get name(): string {
    return pg.escapeIdentifier(this.table);
  }

  async install(): Promise<void> {
    await this.pool.query(
      `create table if not exists ${this.name} (id text primary key, version integer not null)`,
    );
  }

  async create(tokenId: string): Promise<void> {
    // Creating a token that exists changes nothing. Creating one the receiver already deleted
    // would let its message be processed again: the sender never creates a token it may have
    // sent (see TokenBased).
    await this.pool.query(
      `insert into ${this.name} (id, version) values ($1, 1) on conflict do nothing`,
      [tokenId],
    );
  }

  async version(tokenId: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ version: number }>(
      `select version from ${this.name} where id = $1`,
      [tokenId],
    );
    return rows[0]?.version;
  }

  async deleteIfVersion(tokenId: string, version: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `delete from ${this.name} where id = $1 and version = $2`,
      [tokenId, version],
    );
    return rowCount === 1;
  }

  async discard(tokenId: string): Promise<void> {
    await this.pool.query(`delete from ${this.name} where id = $1`, [tokenId]);
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `select count(*)::int as n from ${this.name}`,
    );
    return rows[0]?.n ?? 0;
  }
}

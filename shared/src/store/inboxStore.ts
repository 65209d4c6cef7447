import pg from 'pg';

/**
 * The ids of messages an endpoint has processed. It must be read-after-write consistent: a
 * `has` that misses a `mark` which already returned lets a duplicate through.
 */
export interface InboxStore {
  has(messageId: string): Promise<boolean>;
  mark(messageId: string): Promise<void>;
  /** Forgets ids marked `retentionMs` ago or earlier, `batch` at a time; returns how many went. */
  cleanup(retentionMs: number, batch?: number): Promise<number>;
  count(): Promise<number>;
}

export class MemoryInbox implements InboxStore {
  private readonly processed = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async has(messageId: string): Promise<boolean> {
    return this.processed.has(messageId);
  }

  async mark(messageId: string): Promise<void> {
    if (!this.processed.has(messageId)) this.processed.set(messageId, this.now());
  }

  async cleanup(retentionMs: number): Promise<number> {
    const cutoff = this.now() - retentionMs;
    let removed = 0;
    for (const [id, at] of this.processed) {
      if (at <= cutoff && this.processed.delete(id)) removed++;
    }
    return removed;
  }

  async count(): Promise<number> {
    return this.processed.size;
  }
}

/** The inbox as a table (endpoint, message id, when), shared by an endpoint's instances. */
export class PgInboxStore implements InboxStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly endpoint: string,
    private readonly table = 'inbox',
  ) {}

  private get name(): string {
    return pg.escapeIdentifier(this.table);
  }

  async install(): Promise<void> {
    await this.pool.query(`create table if not exists ${this.name} (
      endpoint text not null,
      message_id text not null,
      processed_at timestamptz not null default now(),
      primary key (endpoint, message_id)
    )`);
  }

  async has(messageId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `select 1 from ${this.name} where endpoint = $1 and message_id = $2`,
      [this.endpoint, messageId],
    );
    return rowCount === 1;
  }

  async mark(messageId: string): Promise<void> {
    await this.claim(this.pool, messageId);
  }

  /**
   * Marks the id through `db` (a client inside a transaction, say) and tells whether this call
   * marked it: false when it was marked before. Inside a transaction, a second claim of the same
   * id waits until the first transaction ends, then answers false if it committed.
   */
  async claim(db: Pick<pg.ClientBase, 'query'>, messageId: string): Promise<boolean> {
    const { rowCount } = await db.query(
      `insert into ${this.name} (endpoint, message_id) values ($1, $2) on conflict do nothing`,
      [this.endpoint, messageId],
    );
    return rowCount === 1;
  }

  async cleanup(retentionMs: number, batch = 1_000): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        `delete from ${this.name} where ctid in (
           select ctid from ${this.name}
           where endpoint = $1 and processed_at <= now() - make_interval(secs => $2::float / 1000)
           limit $3)`,
        [this.endpoint, retentionMs, batch],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < batch) return total;
    }
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `select count(*)::int as n from ${this.name} where endpoint = $1`,
      [this.endpoint],
    );
    return rows[0]?.n ?? 0;
  }
}

import type pg from 'pg';

/** What an idempotency key says of a request: its first use, a retry of it, or another request. */
export type KeyUse = 'first' | 'retry' | 'other';

/**
 * The idempotency keys clients sent, each with the request it came with. A retry carries the same
 * key and the same request; a different request under a key already used is a client's mistake,
 * refused (422) rather than taken for a retry of the first — or applied as new.
 */
export interface RequestKeys {
  /** Records `request` under `key` if the key is new; says how the key was used before. */
  use(key: string, request: string): Promise<{ use: KeyUse; first: string }>;
}

export class MemoryRequestKeys implements RequestKeys {
  private readonly requests = new Map<string, string>();

  async use(key: string, request: string): Promise<{ use: KeyUse; first: string }> {
    const first = this.requests.get(key);
    if (first === undefined) {
      this.requests.set(key, request);
      return { use: 'first', first: request };
    }
    return { use: first === request ? 'retry' : 'other', first };
  }
}

/**
 * The keys in a table, shared by every frontend process. Keys older than `retentionMs` (a day by
 * default: longer than any client retries) are forgotten as new ones come.
 */
export class PgRequestKeys implements RequestKeys {
  private lastCleanup = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly retentionMs = 24 * 60 * 60 * 1000,
  ) {}

  async install(): Promise<void> {
    await this.pool.query(`create table if not exists http_requests (
      key text primary key,
      request text not null,
      first_seen timestamptz not null default now()
    )`);
  }

  async use(key: string, request: string): Promise<{ use: KeyUse; first: string }> {
    await this.cleanup();
    const inserted = await this.pool.query(
      'insert into http_requests (key, request) values ($1, $2) on conflict do nothing',
      [key, request],
    );
    if (inserted.rowCount === 1) return { use: 'first', first: request };
    const { rows } = await this.pool.query<{ request: string }>(
      'select request from http_requests where key = $1',
      [key],
    );
    const first = rows[0]?.request ?? request; // forgotten meanwhile: take it as first
    return { use: first === request ? 'retry' : 'other', first };
  }

  /** At most once a minute, in the background of a request: old keys go. */
  private async cleanup(): Promise<void> {
    const now = Date.now();
    if (now - this.lastCleanup < 60_000) return;
    this.lastCleanup = now;
    await this.pool.query(
      `delete from http_requests where first_seen < now() - make_interval(secs => $1::float / 1000)`,
      [this.retentionMs],
    );
  }
}

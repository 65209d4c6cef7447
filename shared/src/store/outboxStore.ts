import pg from 'pg';

/**
 * Outgoing messages kept outside the document that caused them (documents have size limits),
 * keyed by a transaction id the document points to. The record names its owner — the incoming
 * message it was made for — and the document, so a leftover can be told from a live one.
 */
export interface OutboxRecord<Message> {
  /** The id of the incoming message whose handling produced these messages. */
  readonly ownerMessageId: string;
  /** The document that points to this record while it is pending. */
  readonly document: { readonly partition: string; readonly id: string };
  readonly messages: readonly Message[];
}

export interface OutboxStore<Message> {
  put(txId: string, record: OutboxRecord<Message>): Promise<void>;
  get(txId: string): Promise<OutboxRecord<Message> | undefined>;
  delete(txId: string): Promise<void>;
  /** Transaction ids of records stored more than `minAgeMs` ago, oldest first. */
  olderThan(minAgeMs: number, limit: number): Promise<string[]>;
}

export class MemoryOutboxStore<Message> implements OutboxStore<Message> {
  private readonly records = new Map<string, { json: string; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async put(txId: string, record: OutboxRecord<Message>): Promise<void> {
    this.records.set(txId, { json: JSON.stringify(record), at: this.now() });
  }

  async get(txId: string): Promise<OutboxRecord<Message> | undefined> {
    const stored = this.records.get(txId);
    return stored ? (JSON.parse(stored.json) as OutboxRecord<Message>) : undefined;
  }

  async delete(txId: string): Promise<void> {
    this.records.delete(txId);
  }

  async olderThan(minAgeMs: number, limit: number): Promise<string[]> {
    const cutoff = this.now() - minAgeMs;
    return [...this.records]
      .filter(([, r]) => r.at <= cutoff)
      .sort(([, a], [, b]) => a.at - b.at)
      .slice(0, limit)
      .map(([txId]) => txId);
  }
}

export class PgOutboxStore<Message> implements OutboxStore<Message> {
  constructor(
    private readonly pool: pg.Pool,
    private readonly table = 'outbox_records',
  ) {}

  private get name(): string {
    return pg.escapeIdentifier(this.table);
  }

  async install(): Promise<void> {
    await this.pool.query(`create table if not exists ${this.name} (
      tx_id text primary key,
      record jsonb not null,
      created_at timestamptz not null default now()
    )`);
  }

  async put(txId: string, record: OutboxRecord<Message>): Promise<void> {
    await this.pool.query(
      `insert into ${this.name} (tx_id, record) values ($1, $2)
       on conflict (tx_id) do update set record = excluded.record`,
      [txId, JSON.stringify(record)],
    );
  }

  async get(txId: string): Promise<OutboxRecord<Message> | undefined> {
    const { rows } = await this.pool.query<{ record: OutboxRecord<Message> }>(
      `select record from ${this.name} where tx_id = $1`,
      [txId],
    );
    return rows[0]?.record;
  }

  async delete(txId: string): Promise<void> {
    await this.pool.query(`delete from ${this.name} where tx_id = $1`, [txId]);
  }

  async olderThan(minAgeMs: number, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ tx_id: string }>(
      `select tx_id from ${this.name}
       where created_at <= now() - make_interval(secs => $1::float / 1000)
       order by created_at limit $2`,
      [minAgeMs, limit],
    );
    return rows.map((r) => r.tx_id);
  }
}

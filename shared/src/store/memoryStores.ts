/**
 * In-memory stores with the semantics the algorithms rely on in the real (Postgres) ones: a
 * document store with optimistic concurrency (a write names the version it read and fails if
 * the document moved on) and an inbox of processed message ids. Reads return copies, so a
 * caller cannot change stored state without writing it.
 */

/** A write was based on a version that is no longer the stored one. */
export class ConcurrencyError extends Error {
  override name = 'ConcurrencyError';
}

export interface Versioned<T> {
  readonly value: T;
  /** 0 for a document that does not exist yet. */
  readonly version: number;
}

export class MemoryDocumentStore<T> {
  private readonly documents = new Map<string, { value: T; version: number }>();

  async load(id: string): Promise<Versioned<T | undefined>> {
    const stored = this.documents.get(id);
    return stored
      ? { value: structuredClone(stored.value), version: stored.version }
      : { value: undefined, version: 0 };
  }

  /** Writes if the stored version is still `expectedVersion`; returns the new version. */
  async save(id: string, value: T, expectedVersion: number): Promise<number> {
    const current = this.documents.get(id)?.version ?? 0;
    if (current !== expectedVersion) {
      throw new ConcurrencyError(`document ${id} is at version ${current}, not ${expectedVersion}`);
    }
    this.documents.set(id, { value: structuredClone(value), version: current + 1 });
    return current + 1;
  }
}

export class MemoryInbox {
  private readonly processed = new Set<string>();

  async has(messageId: string): Promise<boolean> {
    return this.processed.has(messageId);
  }

  async mark(messageId: string): Promise<void> {
    this.processed.add(messageId);
  }
}

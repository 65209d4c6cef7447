import {
  ConcurrencyError,
  checkSize,
  DEFAULT_MAX_DOCUMENT_BYTES,
  type DocumentStore,
  type DocumentWrite,
  type Versioned,
} from './documentStore.ts';

/**
 * The document store in a Map, with the Postgres store's semantics (the same tests run against
 * both): versions, conflicts, size limit, all-or-nothing batches within a partition. Reads
 * return copies, so a caller cannot change stored state without writing it.
 */
export class MemoryDocumentStore<T> implements DocumentStore<T> {
  private readonly documents = new Map<string, { json: string; version: number }>();

  constructor(private readonly maxDocumentBytes = DEFAULT_MAX_DOCUMENT_BYTES) {}

  async load(partition: string, id: string): Promise<Versioned<T | undefined>> {
    const stored = this.documents.get(key(partition, id));
    return stored
      ? { value: JSON.parse(stored.json) as T, version: stored.version }
      : { value: undefined, version: 0 };
  }

  async save(partition: string, id: string, value: T, expectedVersion: number): Promise<number> {
    await this.batch(partition, [{ id, value, expectedVersion }]);
    return expectedVersion + 1;
  }

  async batch(partition: string, writes: readonly DocumentWrite<T>[]): Promise<void> {
    // Check everything first, then apply: all or nothing.
    const jsons = writes.map((w) => {
      const current = this.documents.get(key(partition, w.id))?.version ?? 0;
      if (current !== w.expectedVersion) {
        throw new ConcurrencyError(
          `document ${partition}/${w.id} is at version ${current}, not ${w.expectedVersion}`,
        );
      }
      return w.value === undefined
        ? undefined
        : checkSize(partition, w.id, w.value, this.maxDocumentBytes);
    });
    writes.forEach((w, i) => {
      const json = jsons[i];
      if (json === undefined) this.documents.delete(key(partition, w.id));
      else this.documents.set(key(partition, w.id), { json, version: w.expectedVersion + 1 });
    });
  }
}

function key(partition: string, id: string): string {
  return `${partition}\u0000${id}`;
}

/**
 * A document store as the algorithms need it, whatever is underneath (Postgres here; Cosmos DB
 * or DynamoDB in the advanced part): JSON documents keyed by (partition, id), a version per
 * document for optimistic concurrency, atomic writes only within one partition, and a maximum
 * document size.
 */

/** A write was based on a version that is no longer the stored one. */
export class ConcurrencyError extends Error {
  override name = 'ConcurrencyError';
}

/** A document is larger than the store accepts (the limits of Cosmos DB and DynamoDB are real). */
export class DocumentTooLargeError extends Error {
  override name = 'DocumentTooLargeError';
}

export interface Versioned<T> {
  readonly value: T;
  /** 0 for a document that does not exist yet. */
  readonly version: number;
}

/** One write of a batch: `value` undefined deletes the document. */
export interface DocumentWrite<T> {
  readonly id: string;
  readonly value: T | undefined;
  readonly expectedVersion: number;
}

export interface DocumentStore<T> {
  load(partition: string, id: string): Promise<Versioned<T | undefined>>;
  /** Writes if the stored version is still `expectedVersion`; returns the new version. */
  save(partition: string, id: string, value: T, expectedVersion: number): Promise<number>;
  /** All writes, in one partition, or none of them. */
  batch(partition: string, writes: readonly DocumentWrite<T>[]): Promise<void>;
}

export const DEFAULT_MAX_DOCUMENT_BYTES = 64 * 1024;

export function checkSize(partition: string, id: string, value: unknown, maxBytes: number): string {
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) {
    throw new DocumentTooLargeError(
      `document ${partition}/${id} is ${bytes} bytes; the store accepts at most ${maxBytes}`,
    );
  }
  return json;
}

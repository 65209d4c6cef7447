export {
  type BlobStore,
  BlobTooLargeError,
  blobNameForAttempt,
  DEFAULT_MAX_BLOB_BYTES,
  MemoryBlobStore,
  PgBlobStore,
} from './blobStore.ts';
export {
  ConcurrencyError,
  DEFAULT_MAX_DOCUMENT_BYTES,
  type DocumentStore,
  DocumentTooLargeError,
  type DocumentWrite,
  type Versioned,
} from './documentStore.ts';
export { type InboxStore, MemoryInbox, PgInboxStore } from './inboxStore.ts';
export { MemoryDocumentStore } from './memoryStores.ts';
export {
  MemoryOutboxStore,
  type OutboxRecord,
  type OutboxStore,
  PgOutboxStore,
} from './outboxStore.ts';
export { PgDocumentStore } from './pgDocumentStore.ts';
export {
  checkOut,
  createPool,
  isTransientDatabaseError,
  rollback,
  survivePoolErrors,
} from './pool.ts';
export { MemoryTokenStore, PgTokenStore, type TokenStore } from './tokenStore.ts';

export {
  ConcurrencyError,
  DEFAULT_MAX_DOCUMENT_BYTES,
  type DocumentStore,
  DocumentTooLargeError,
  type DocumentWrite,
  type Versioned,
} from './documentStore.ts';
export { MemoryDocumentStore, MemoryInbox } from './memoryStores.ts';
export { PgDocumentStore } from './pgDocumentStore.ts';
export { MemoryTokenStore, PgTokenStore, type TokenStore } from './tokenStore.ts';

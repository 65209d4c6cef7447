export {
  ConcurrencyError,
  MemoryDocumentStore,
  MemoryInbox,
  type Versioned,
} from './memoryStores.ts';

export { deterministicCapture, deterministicIds } from './deterministicIds.ts';
export {
  DOCUMENT_OUTBOX_STEPS,
  DocumentOutbox,
  type DocumentOutboxStep,
} from './documentOutbox.ts';
export {
  type Delivery,
  DOCUMENT_STEPS,
  type DocumentStep,
  DocumentStrategy,
  type DocumentStrategyOptions,
  type EntityDocument,
  entity,
  type Loaded,
  metadataOf,
  type OutboxMetadata,
  OutboxStrategy,
  type PendingMessages,
  STRATEGY_FIELD,
  type StoredDocument,
} from './documentStrategy.ts';
export { IdentityBased, type IdentityMetadata } from './identityBased.ts';
export { OutboxDispatcher, type OutboxDispatcherOptions } from './outboxDispatcher.ts';
export { DocumentOutboxInbox, OUTBOX_INBOX_STEPS, type OutboxInboxStep } from './outboxInbox.ts';
export {
  OUT_OF_DOCUMENT_STEPS,
  OutOfDocumentOutbox,
  type OutOfDocumentStep,
  type TransactionMetadata,
} from './outOfDocumentOutbox.ts';
export { NOTIFY_CHANNEL, SqlOutboxInbox } from './sqlOutboxInbox.ts';
export {
  DEFAULT_HISTORY,
  NonDeterministicHandlerError,
  STATE_BASED_STEPS,
  StateBased,
  type StateMetadata,
  type StateSnapshot,
} from './stateBased.ts';
export { STRATEGY_STEPS, type StrategyStep } from './steps.ts';
export {
  MissingTokenError,
  type Subscribers,
  TOKEN_HEADER,
  TOKEN_STEPS,
  TokenBased,
  type TokenEntry,
  type TokenStep,
  tokenSender,
  UnknownSubscribersError,
} from './tokenBased.ts';

export { deterministicIds } from './deterministicIds.ts';
export { DocumentOutbox } from './documentOutbox.ts';
export {
  type Delivery,
  DocumentStrategy,
  type DocumentStrategyOptions,
  type EntityDocument,
  entity,
  type Loaded,
  type PendingMessages,
} from './documentStrategy.ts';
export { IdentityBased } from './identityBased.ts';
export { OutboxDispatcher, type OutboxDispatcherOptions } from './outboxDispatcher.ts';
export { DocumentOutboxInbox } from './outboxInbox.ts';
export { OutOfDocumentOutbox } from './outOfDocumentOutbox.ts';
export { NOTIFY_CHANNEL, SqlOutboxInbox } from './sqlOutboxInbox.ts';
export {
  MissingTokenError,
  type Subscribers,
  TOKEN_HEADER,
  TokenBased,
  tokenSender,
  UnknownSubscribersError,
} from './tokenBased.ts';

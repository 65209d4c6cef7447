export { DocumentOutbox } from './documentOutbox.ts';
export { DocumentOutboxInbox } from './documentOutboxInbox.ts';
export { OutboxDispatcher, type OutboxDispatcherOptions } from './outboxDispatcher.ts';
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

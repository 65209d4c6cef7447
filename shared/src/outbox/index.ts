export { DocumentOutbox } from './documentOutbox.ts';
export { DocumentOutboxInbox } from './documentOutboxInbox.ts';
export { OutboxDispatcher, type OutboxDispatcherOptions } from './outboxDispatcher.ts';
export { OutOfDocumentOutbox } from './outOfDocumentOutbox.ts';
export { NOTIFY_CHANNEL, SqlOutboxInbox } from './sqlOutboxInbox.ts';
export { MissingTokenError, TOKEN_HEADER, TokenBased, tokenSender } from './tokenBased.ts';

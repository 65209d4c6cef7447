export { type FailedMessage, FailedMessages, type FailedMessagesOptions } from './failedMessages.ts';

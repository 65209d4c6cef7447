export {
  CannotSendBackError,
  type FailedMessage,
  FailedMessages,
  type FailedMessagesOptions,
} from './failedMessages.ts';
export { type UntilAvailableOptions, untilAvailable } from './startup.ts';

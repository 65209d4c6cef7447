export { OutboxDispatcher, type OutboxDispatcherOptions } from './outboxDispatcher.ts';
export { NOTIFY_CHANNEL, SqlOutboxInbox, type StepHook } from './sqlOutboxInbox.ts';

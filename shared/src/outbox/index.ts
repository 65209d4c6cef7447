export { SqlOutboxInbox, type StepHook } from './sqlOutboxInbox.ts';

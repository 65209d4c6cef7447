export * from './bus/index.ts';
export * from './chaos/index.ts';
export * from './log/index.ts';
export * from './messages/index.ts';
export * from './outbox/index.ts';
export * from './servers/index.ts';
export * from './store/index.ts';
export * from './transports/index.ts';

export * from './bus/index.ts';
export * from './chaos/index.ts';
export * from './log/index.ts';
export * from './messages/index.ts';
export * from './observe/index.ts';
export * from './store/index.ts';
export * from './strategies/index.ts';
export * from './transports/index.ts';

export { canForceCloseConnections, forceCloseConnections } from './brokerControl.ts';
export {
  ConversationNotSettledError,
  ConversationTracer,
  type SettledConversation,
} from './conversationTracer.ts';
export { type IsolateOptions, type Isolation, isolate } from './isolation.ts';
export { closedPort, runCommand } from './processes.ts';
export { startTcpProxy, type TcpProxy } from './tcpProxy.ts';
export { useIsolation } from './useIsolation.ts';
export { gate, Recorder, waitFor } from './waitFor.ts';

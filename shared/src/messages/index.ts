export { type Contracts, contracts } from './contracts.ts';
export {
  type BodyOf,
  type CommandType,
  defineCommand,
  defineEvent,
  describeIssues,
  type EventType,
  type MessageKind,
  type MessageType,
} from './defineMessage.ts';
export { deterministicId, ID_NAMESPACE, stableHash } from './deterministic.ts';
export { type Envelope, type MessageHeaders, newMessageId, WIRE } from './envelope.ts';

export { canForceCloseConnections, forceCloseConnections } from './brokerControl.ts';
export {
  type Counterexample,
  type CounterexampleStep,
  counterexampleDiagram,
  describeStep,
  formatCounterexample,
  participantsOf,
} from './counterexample.ts';
export {
  type ActorRun,
  counterexampleOfExecution,
  type ExecutionPicture,
  type ExecutionStep,
  type ExploreOptions,
  type ExploreResult,
  type ExplorerActor,
  exploreInterleavings,
  formatExecution,
} from './interleavingExplorer.ts';
export { type IsolateOptions, type Isolation, isolate } from './isolation.ts';
export {
  type Action,
  type CheckResult,
  canonicalKey,
  checkModel,
  formatTrace,
  type Invariant,
  type Model,
  StateSpaceTooLargeError,
  type TraceStep,
} from './modelChecker.ts';
export {
  ack,
  at,
  commitChange,
  DEFAULT_HANDLER_BOUNDS,
  everyMessageHandled,
  HANDLER_INVARIANTS,
  HANDLER_VARIANTS,
  type HandlerBounds,
  type HandlerInvariantName,
  type HandlerState,
  type HandlerStep,
  type HandlerVariant,
  handlerModel,
  inputOf,
  isProcessed,
  messageHandlerModel,
  moveTo,
  newMessageId,
  publish,
  storedOutgoingId,
} from './models/messageHandler.ts';
export { closedPort, runCommand } from './processes.ts';
export { describeOn, isEmbedded } from './servers.ts';
export { type StepwiseOptions, stepwise } from './stepwise.ts';
export { startTcpProxy, type TcpProxy } from './tcpProxy.ts';
export {
  counterexampleOfTrace,
  explored,
  type HandlerNames,
  handlerCounterexample,
  type TraceReading,
} from './traceCounterexample.ts';
export { useIsolation } from './useIsolation.ts';
export { gate, Recorder, waitFor } from './waitFor.ts';

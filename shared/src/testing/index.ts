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
export { closedPort, runCommand } from './processes.ts';
export { describeOn, isEmbedded } from './servers.ts';
export { stepwise } from './stepwise.ts';
export { startTcpProxy, type TcpProxy } from './tcpProxy.ts';
export { useIsolation } from './useIsolation.ts';
export { gate, Recorder, waitFor } from './waitFor.ts';

export { capture, capturedOf, captureOutgoing, startCapturing } from './capture.ts';
export type {
  Handler,
  HandlerContext,
  IncomingContext,
  MessageSession,
  OutgoingContext,
  OutgoingOperation,
  PublishOptions,
  SendOptions,
} from './context.ts';
export {
  Endpoint,
  type EndpointOptions,
  type IncomingMiddleware,
  type OutgoingMiddleware,
} from './endpoint.ts';
export {
  BrokerUnavailableError,
  BusConfigurationError,
  InvalidMessageError,
  PoisonMessageError,
  type PoisonReason,
  RejectedMessageError,
  UnroutableMessageError,
} from './errors.ts';
export { compose, type Middleware } from './pipeline.ts';
export {
  DEFAULT_RECOVERABILITY,
  type FailureReason,
  type RecoverabilityPolicy,
} from './recoverability.ts';
export { PLAIN_STEPS, type StepHook } from './steps.ts';
export type {
  Destination,
  Disposition,
  MessageCallback,
  ReceivedMessage,
  ReceiveOptions,
  Receiver,
  StopOptions,
  Transport,
  TransportMessage,
  TransportOperation,
} from './transport.ts';
export { UnitOfWork } from './unitOfWork.ts';

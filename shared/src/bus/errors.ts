/** Why a message could not even be handed to a handler. */
export type PoisonReason =
  | 'invalid-json'
  | 'missing-id'
  | 'missing-type'
  | 'unknown-type'
  | 'invalid-body'
  | 'invalid-headers';

/** A message that no retry can help: it goes to the error queue at once. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
  constructor(
    readonly reason: PoisonReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Thrown by a handler: this message can never be processed (it asks for something the business
 * refuses, such as a change to an order already submitted). No retry can change that, so it goes
 * to the error queue at once, with this error's message as the reason, for a person to decide.
 */
export class RejectedMessageError extends Error {
  override name = 'RejectedMessageError';
}

/** The broker could not be reached within the deadline; the message was not sent. */
export class BrokerUnavailableError extends Error {
  override name = 'BrokerUnavailableError';
}

/** A command was sent to an endpoint that has no queue: it would have been dropped. */
export class UnroutableMessageError extends Error {
  override name = 'UnroutableMessageError';
}

/** The bus was used in a way it cannot honour (no route, handler registered twice, …). */
export class BusConfigurationError extends Error {
  override name = 'BusConfigurationError';
}

/** An outgoing message whose body does not match its schema: it is refused before it leaves. */
export class InvalidMessageError extends Error {
  override name = 'InvalidMessageError';
}

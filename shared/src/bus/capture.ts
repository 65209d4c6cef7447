import type { IncomingContext, OutgoingContext, OutgoingOperation } from './context.ts';
import type { UnitOfWork } from './unitOfWork.ts';

type Attempt = { readonly work: UnitOfWork };

/**
 * From now on, what the handler of this attempt sends is kept instead of sent (an outbox stores
 * it and dispatches it after its commit). Returns the list the messages are collected in.
 */
export function startCapturing(context: Attempt): OutgoingOperation[] {
  const captured: OutgoingOperation[] = [];
  context.work.captured = captured;
  return captured;
}

/** The list this attempt's handler run is capturing into, if it is capturing. */
export function capturedOf(context: Attempt): readonly OutgoingOperation[] | undefined {
  return context.work.captured;
}

/** Keeps an outgoing message in the attempt's capture list (what `captureOutgoing` does). */
export function capture(context: Attempt, operation: OutgoingOperation): void {
  const captured = context.work.captured;
  if (!captured) throw new Error('this delivery is not capturing its outgoing messages');
  captured.push(operation);
}

/**
 * Outgoing middleware: a message sent by a handler whose attempt is capturing is kept; any
 * other (sent from outside a handler) goes straight out.
 */
export async function captureOutgoing(
  context: Pick<OutgoingContext, 'operation'> & { incoming: Attempt | IncomingContext | undefined },
  next: () => Promise<void>,
): Promise<void> {
  const captured = context.incoming?.work.captured;
  if (!captured) return next();
  captured.push(context.operation);
}

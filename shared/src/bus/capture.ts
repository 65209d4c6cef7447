import type { IncomingContext, OutgoingContext, OutgoingOperation } from './context.ts';

const CAPTURED = Symbol('captured outgoing messages');

type Items = { readonly items: Map<string | symbol, unknown> };

/**
 * From now on, what the handler of this delivery sends is kept instead of sent (an outbox stores
 * it and dispatches it after its commit). Returns the list the messages are collected in.
 */
export function startCapturing(context: Items): OutgoingOperation[] {
  const captured: OutgoingOperation[] = [];
  context.items.set(CAPTURED, captured);
  return captured;
}

/** The list this delivery's handler run is capturing into, if it is capturing. */
export function capturedOf(context: Items): readonly OutgoingOperation[] | undefined {
  return context.items.get(CAPTURED) as OutgoingOperation[] | undefined;
}

/** Keeps an outgoing message in the delivery's capture list (what `captureOutgoing` does). */
export function capture(context: Items, operation: OutgoingOperation): void {
  const captured = context.items.get(CAPTURED) as OutgoingOperation[] | undefined;
  if (!captured) throw new Error('this delivery is not capturing its outgoing messages');
  captured.push(operation);
}

/**
 * Outgoing middleware: a message sent by a handler whose delivery is capturing is kept; any
 * other (sent from outside a handler) goes straight out.
 */
export async function captureOutgoing(
  context: Pick<OutgoingContext, 'operation'> & { incoming: Items | IncomingContext | undefined },
  next: () => Promise<void>,
): Promise<void> {
  const captured = context.incoming?.items.get(CAPTURED) as OutgoingOperation[] | undefined;
  if (!captured) return next();
  captured.push(context.operation);
}

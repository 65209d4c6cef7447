import { capturedOf, captureOutgoing } from '../bus/capture.ts';
import type { OutgoingMiddleware } from '../bus/endpoint.ts';
import { compose } from '../bus/pipeline.ts';
import { deterministicId } from '../messages/deterministic.ts';

/**
 * Outgoing middleware: a message sent by a handler gets an id derived from the incoming message,
 * the endpoint and its place among what the handler sent (the n-th message of its type). A
 * retry of the same message by a deterministic handler sends the same ids again, so a receiver
 * that deduplicates by id recognises the copies — with random ids it would see new messages.
 *
 * It must come before any middleware that stores or sends the message (install it first). Messages
 * sent from outside a handler keep their ids.
 */
export function deterministicIds(): OutgoingMiddleware {
  const assigned = new WeakSet<object>();
  // Per handler run (a capture list, or the attempt's unit of work): message type → how many.
  const counters = new WeakMap<object, Map<string, number>>();
  return async (context, next) => {
    const incoming = context.incoming;
    // Outside a handler, or already given its id (a middleware that repeats the send, as the
    // chaos monkey's duplicate does, must repeat the same message, not make a new one).
    if (!incoming || assigned.has(context.operation.message)) return next();
    // Counted per handler run: a strategy that runs the handler again starts a new capture list.
    const run: object = capturedOf(incoming) ?? incoming.work;
    const counts = counters.get(run) ?? new Map<string, number>();
    counters.set(run, counts);
    const { message } = context.operation;
    const n = counts.get(message.type) ?? 0;
    counts.set(message.type, n + 1);
    const withId = {
      ...message,
      id: deterministicId(incoming.message.id, context.endpoint, `${message.type}#${n}`),
    };
    assigned.add(withId);
    context.operation = { ...context.operation, message: withId };
    return next();
  };
}

/**
 * The outgoing middleware of the strategies that run the handler again to send its messages
 * (identity-based, state-based): ids derived from the incoming message, then captured until the
 * strategy dispatches them.
 */
export function deterministicCapture(): OutgoingMiddleware {
  const assignIds = deterministicIds();
  return (context, next) => compose([assignIds, captureOutgoing], () => next())(context);
}

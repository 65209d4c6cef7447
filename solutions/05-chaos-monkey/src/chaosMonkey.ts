import type { OutgoingMiddleware } from '@pierogi/shared';

/**
 * An outgoing middleware that sends every ItemAdded twice, the way a broker or a retrying sender
 * sometimes does. `next()` sends the message on; everything else goes through untouched.
 */
export const chaosMonkey: OutgoingMiddleware = async (context, next) => {
  await next();
  if (context.operation.message.type === 'ItemAdded') await next(); // the same message again
};

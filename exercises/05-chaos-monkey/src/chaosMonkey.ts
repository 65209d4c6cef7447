import type { OutgoingMiddleware } from '@pierogi/shared';

/**
 * An outgoing middleware that sends every ItemAdded twice, the way a broker or a retrying sender
 * sometimes does. `next()` sends the message on; everything else goes through untouched.
 */
export const chaosMonkey: OutgoingMiddleware = async (context, next) => {
  // 👉 context.operation.message.type tells you what is being sent. For an ItemAdded, send it
  //    twice; send anything else once.
  await next();
};

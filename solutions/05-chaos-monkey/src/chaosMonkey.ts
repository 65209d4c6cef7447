import type { OutgoingMiddleware } from '@pierogi/shared';
import type { LiveLog } from '@pierogi/shop';

/**
 * An outgoing middleware that sends every ItemAdded twice, the way a broker or a retrying sender
 * sometimes does. `next()` sends the message on; everything else goes through untouched.
 */
export function chaosMonkey(log: LiveLog): OutgoingMiddleware {
  return async (context, next) => {
    const { message } = context.operation;
    await next();
    if (message.type !== 'ItemAdded') return;
    log.add({
      kind: 'chaos',
      endpoint: context.endpoint,
      messageType: message.type,
      messageId: message.id,
      text: 'chaos monkey: ItemAdded sent twice',
    });
    await next(); // the same message, the same id, again
  };
}

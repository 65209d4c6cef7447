import {
  ConcurrencyError,
  captureOutgoing,
  type Envelope,
  type HandlerContext,
  type IncomingContext,
  type OutgoingOperation,
  startCapturing,
} from '@pierogi/shared';
import type { Entities, ShopContext } from '@pierogi/shop';

/**
 * Kept in the entity's document, by incoming message id:
 *   absent — not processed;
 *   a list — processed, and these messages may not be out yet;
 *   null   — processed, and its messages are out.
 */
export type Outbox = Record<string, OutgoingOperation[] | null>;

/** Which entity a message is about, and its state before the first message. */
export interface EntityOf<T> {
  readonly idOf: (message: Envelope) => string;
  readonly initial: (message: Envelope) => T;
}

/** How many lost races (a `ConcurrencyError` from a save) a delivery starts over after. */
const MAX_CONFLICTS = 20;

/** The state of the entity the message is about: change it in place, the outbox stores it. */
export function current<T>(context: HandlerContext): T {
  const entity = context.work.entity;
  if (entity === undefined) throw new Error('no state: is the outbox installed on this endpoint?');
  return entity.state as T;
}

/**
 * Installs the outbox on the endpoint: each handler runs on the state of one entity, loaded
 * before it and stored after it, and what it sends leaves only once the state is stored.
 */
export function useOutbox<T extends object>(
  shop: ShopContext,
  entities: Entities<T>,
  entity: EntityOf<T>,
): void {
  /** One attempt at a message: load, handle, store, send. */
  const attempt = async (context: IncomingContext, next: () => Promise<void>): Promise<void> => {
    const { message } = context;
    const id = entity.idOf(message);
    const documents = entities.in(context); // as this message's unit of work sees them
    const { value, version } = await documents.load(id);
    const doc = (value ?? entity.initial(message)) as T & { outbox?: Outbox };
    let messages = doc.outbox?.[message.id];
    if (messages === null) {
      shop.duplicate(context, 'its messages are out already');
      return;
    }
    let stored = version;
    if (messages === undefined) {
      messages = startCapturing(context);
      context.work.entity = { state: doc }; // what `current(context)` gives the handler
      await next();
      doc.outbox = { ...doc.outbox, [message.id]: messages };
      stored = await documents.save(id, doc, version); // the state and its messages, together
    }
    // After the commit, with their stored ids; a step the chaos monkey can fail.
    await shop.steps.around('dispatch', message, () => shop.endpoint.dispatch(messages));
    doc.outbox = { ...doc.outbox, [message.id]: null };
    await documents.save(id, doc, stored);
  };

  shop.endpoint.use({
    // A save that lost a race (another message of this entity was stored since the load) starts
    // the message over, on the fresh document. Marketing's one document meets many at once.
    incoming: async (context, next) => {
      for (let conflicts = 0; ; conflicts++) {
        try {
          return await attempt(context, next);
        } catch (error) {
          if (!(error instanceof ConcurrencyError) || conflicts >= MAX_CONFLICTS) throw error;
        }
      }
    },
    // A message the handler sends is kept in the capture list instead of leaving.
    outgoing: captureOutgoing,
  });
}

/** The order a message of the shop is about. */
export function orderIdOf(message: Envelope): string {
  return (message.body as { orderId: string }).orderId;
}

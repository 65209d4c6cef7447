import {
  ConcurrencyError,
  type Envelope,
  type HandlerContext,
  type IncomingContext,
  type OutgoingOperation,
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
    // The 👉 steps are numbered in the order the code needs them. The entry has three cases:
    // 👉 1. `doc.outbox?.[message.id]` is null: a duplicate. Tell the page
    //       (`shop.duplicate(context, 'its messages are out already')`) and return.
    // 👉 2. It is a list: an attempt stored it and failed before the end. Skip steps 3 and 4
    //       (no handler, no save) and go on at step 5 with that list.
    // 👉 3. It is absent: keep what the handler sends instead of sending it —
    //       `const messages = startCapturing(context)` (from @pierogi/shared) before `next()`,
    //       and `outgoing: captureOutgoing` below.
    context.work.entity = { state: doc }; // what `current(context)` gives the handler
    await next(); // today what the handler sends leaves at once, before the state is stored
    // 👉 4. Store the state and the entry in this one save:
    //       `doc.outbox = { ...doc.outbox, [message.id]: messages }`.
    await documents.save(id, doc, version);
    // 👉 5. Send them, as the step `dispatch` the chaos monkey can fail (they keep their ids):
    //       `await shop.steps.around('dispatch', message, () => shop.endpoint.dispatch(messages))`.
    //       Then set the entry to null and save again: with the version step 4's save returned,
    //       or the loaded one when step 2 skipped that save.
    // 🤔 Why null, rather than deleting the entry?
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
    // 👉 3. `outgoing: captureOutgoing` (from @pierogi/shared): what the handler sends goes
    //       into the list of `startCapturing`.
  });
}

/** The order a message of the shop is about. */
export function orderIdOf(message: Envelope): string {
  return (message.body as { orderId: string }).orderId;
}

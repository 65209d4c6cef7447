import {
  type Delivery,
  DOCUMENT_STEPS,
  OutboxStrategy,
  type PendingMessages,
} from './documentStrategy.ts';

/** The steps of DocumentOutbox a chaos rule can name. */
export const DOCUMENT_OUTBOX_STEPS = [...DOCUMENT_STEPS, 'mark-dispatched'] as const;
export type DocumentOutboxStep = (typeof DOCUMENT_OUTBOX_STEPS)[number];

/**
 * The generic outbox in the entity's document (`meta.outbox`: the strategy's data, kept beside the
 * state in the document). `meta.outbox[incoming id]` is
 *   absent  — the message was not processed;
 *   a list  — it was processed, its messages are not all out yet;
 *   null    — it was processed and its messages are out.
 *
 *   if absent { run the handler; store state + outbox[id] = what it sent (one write) }
 *   if a list { dispatch it, with its stored ids; store outbox[id] = null }
 *
 * - State and outgoing messages are stored in one write: no message for a change that was not
 *   stored (ghost), no stored change whose messages are forgotten (lost).
 * - The messages are captured whole, ids and headers included: a re-dispatch after a crash sends
 *   the very same messages, which downstream recognises by id. (The handler may run more
 *   than once, for racing copies or after a crash before the commit; only one run is stored.)
 * - Marking null only after dispatching: a crash in between dispatches again (same ids), never
 *   not at all.
 *
 * Known limit: the null entries stay forever (the inbox strategy moves them out of the document).
 */
export class DocumentOutbox<S extends object> extends OutboxStrategy<
  S,
  PendingMessages | null,
  DocumentOutboxStep
> {
  /** The steps a chaos rule can name. */
  static readonly STEPS = DOCUMENT_OUTBOX_STEPS;

  protected async process(delivery: Delivery, next: () => Promise<void>): Promise<void> {
    const { message } = delivery;
    let loaded = await this.load(delivery);
    let entry = this.entryOf(loaded, message.id);
    if (entry === null) return; // processed and dispatched: a duplicate
    if (entry === undefined) {
      ({ loaded, entry } = await this.handleIntoOutbox(delivery, next, loaded, (operations) => ({
        operations,
      })));
    }
    await this.dispatch(message, entry.operations);
    await this.saveEntry('mark-dispatched', delivery, loaded, null);
  }
}

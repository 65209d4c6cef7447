import type { InboxStore } from '../store/inboxStore.ts';
import {
  type Delivery,
  DOCUMENT_STEPS,
  type DocumentStrategyOptions,
  OutboxStrategy,
  type PendingMessages,
} from './documentStrategy.ts';

/** The steps of DocumentOutboxInbox a chaos rule can name. */
export const OUTBOX_INBOX_STEPS = [
  ...DOCUMENT_STEPS,
  'check-inbox',
  'mark-inbox',
  'cleanup',
] as const;
export type OutboxInboxStep = (typeof OUTBOX_INBOX_STEPS)[number];

/**
 * The outbox in the entity's document, with an inbox store beside it that remembers processed
 * ids, so the document keeps no trace of a message once its messages are out.
 *
 *   load the entity                      ← before the inbox check
 *   if the inbox has the id: remove a leftover outbox entry, if any; done
 *   if no outbox entry: run the handler; store state + outbox[id] (one write)
 *   dispatch the entry's messages
 *   mark the id in the inbox             ← after dispatch, before removing the entry
 *   remove the outbox entry
 *
 * - Load first: a copy that checked the inbox first could see "not processed", then load the
 *   entity after another copy finished and removed its entry, and process the message again.
 *   Loaded first, either its write conflicts with the other copy's, or the entry or the inbox
 *   row is there to see.
 * - Mark, then remove: the proof that the message was processed is always in the document or in
 *   the inbox (or both), never in neither.
 * - A duplicate that finds the id in the inbox also removes an entry a crash left between
 *   marking and removing: its messages are out, and the entry would stay forever.
 *
 * The inbox must be read-after-write consistent. Its rows may be cleaned up once no copy of the
 * message can arrive any more (`cleanupInbox`, with a retention longer than the retry horizon).
 */
export class DocumentOutboxInbox<S extends object> extends OutboxStrategy<
  S,
  PendingMessages,
  OutboxInboxStep
> {
  /** The steps a chaos rule can name. */
  static readonly STEPS = OUTBOX_INBOX_STEPS;

  private readonly inbox: InboxStore;

  constructor(
    options: DocumentStrategyOptions<S, OutboxInboxStep> & { readonly inbox: InboxStore },
  ) {
    super(options);
    this.inbox = options.inbox;
  }

  protected async process(delivery: Delivery, next: () => Promise<void>): Promise<void> {
    const { message } = delivery;
    let loaded = await this.load(delivery);
    if (await this.step('check-inbox', message, () => this.inbox.has(message.id))) {
      if (this.entryOf(loaded, message.id) !== undefined) {
        await this.removeEntry('cleanup', delivery, loaded);
      }
      return;
    }
    let entry = this.entryOf(loaded, message.id);
    if (!entry) {
      ({ loaded, entry } = await this.handleIntoOutbox(delivery, next, loaded, (operations) => ({
        operations,
      })));
    }
    await this.dispatch(message, entry.operations);
    await this.step('mark-inbox', message, () => this.inbox.mark(message.id));
    await this.removeEntry('cleanup', delivery, loaded);
  }

  /** Forgets processed ids older than `retentionMs`; returns how many went. */
  cleanupInbox(retentionMs: number, batch?: number): Promise<number> {
    return this.inbox.cleanup(retentionMs, batch);
  }
}

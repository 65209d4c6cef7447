import { randomUUID } from 'node:crypto';
import type { OutgoingOperation } from '../bus/context.ts';
import type { InboxStore } from '../store/inboxStore.ts';
import type { OutboxStore } from '../store/outboxStore.ts';
import {
  type Delivery,
  DOCUMENT_STEPS,
  DocumentStrategy,
  type DocumentStrategyOptions,
  type Loaded,
  metadataOf,
} from './documentStrategy.ts';

/**
 * The outbox outside the document (documents have size limits; outgoing messages can be large),
 * tied to it by a single field: `meta.txId` (the strategy's data in the document) names a record
 * in the outbox store that holds the messages and the id of the incoming message that produced
 * them (its owner).
 *
 *   load the entity
 *   if meta.txId is set, finish that transaction first:
 *     dispatch its messages; mark its OWNER's id in the inbox; delete the record; clear txId
 *   if the inbox has this message's id: a duplicate; done
 *   run the handler
 *   store the messages under a new txId (owner = this message)
 *   store state + txId (one write: the commit)
 *   finish the transaction as above
 *
 * - The record is written before the document points to it: a crash in between leaves a record
 *   nothing points to (`cleanupOrphans` removes it), never a pointer to nothing.
 * - The owner's id is what gets marked: the message finishing a transaction may be a different
 *   one, that came next for the same entity. Marking the current message instead would drop the
 *   current message (it was never processed) and let the owner be processed a second time.
 * - Mark, then delete the record, then clear the field: the proof that the owner was processed
 *   is always in the inbox or in the pending transaction.
 * - Only one transaction can be pending per entity: a message that finds one finishes it before
 *   doing its own work, so nothing waits behind a crash for longer than the next message.
 */
/** What the out-of-document outbox keeps beside the state: the pending transaction, if any. */
export interface TransactionMetadata {
  readonly txId?: string;
}

/** The steps of OutOfDocumentOutbox a chaos rule can name. */
export const OUT_OF_DOCUMENT_STEPS = [
  ...DOCUMENT_STEPS,
  'check-inbox',
  'store-outbox',
  'load-outbox',
  'mark-inbox',
  'delete-outbox',
  'clear-transaction',
] as const;
export type OutOfDocumentStep = (typeof OUT_OF_DOCUMENT_STEPS)[number];

export class OutOfDocumentOutbox<S extends object> extends DocumentStrategy<
  S,
  TransactionMetadata,
  OutOfDocumentStep
> {
  /** The steps a chaos rule can name. */
  static readonly STEPS = OUT_OF_DOCUMENT_STEPS;

  private readonly outbox: OutboxStore<OutgoingOperation>;
  private readonly inbox: InboxStore;

  constructor(
    options: DocumentStrategyOptions<S, OutOfDocumentStep> & {
      readonly outbox: OutboxStore<OutgoingOperation>;
      readonly inbox: InboxStore;
    },
  ) {
    super(options);
    this.outbox = options.outbox;
    this.inbox = options.inbox;
  }

  protected async process(delivery: Delivery, next: () => Promise<void>): Promise<void> {
    const { message } = delivery;
    let loaded = await this.load(delivery);
    if (loaded.doc.meta.txId !== undefined) loaded = await this.finish(delivery, loaded);
    if (await this.step('check-inbox', message, () => this.inbox.has(message.id))) return;
    const result = await this.runHandler(delivery, next, loaded.doc.state);
    const txId = randomUUID();
    await this.step('store-outbox', message, () =>
      this.outbox.put(txId, {
        ownerMessageId: message.id,
        document: { partition: loaded.partition, id: loaded.id },
        messages: result.operations,
      }),
    );
    loaded = await this.save('commit', delivery, loaded, {
      state: result.state,
      meta: { ...loaded.doc.meta, txId },
    });
    await this.finish(delivery, loaded);
  }

  /** Completes the transaction `meta.txId` names, whichever message it belongs to. */
  private async finish(
    delivery: Delivery,
    loaded: Loaded<S, TransactionMetadata>,
  ): Promise<Loaded<S, TransactionMetadata>> {
    const { message } = delivery;
    const txId = loaded.doc.meta.txId as string;
    const record = await this.step('load-outbox', message, () => this.outbox.get(txId));
    if (record) {
      await this.dispatch(message, record.messages);
      await this.step('mark-inbox', message, () => this.inbox.mark(record.ownerMessageId));
      await this.step('delete-outbox', message, () => this.outbox.delete(txId));
    }
    const { txId: _done, ...meta } = loaded.doc.meta;
    return this.saveMeta('clear-transaction', delivery, loaded, meta);
  }

  /**
   * Deletes outbox records older than `minAgeMs` that no document points to (a crash between
   * storing the record and the commit). `minAgeMs` must exceed the time a handler can take, or
   * a record about to be committed could go. Returns how many were deleted.
   */
  async cleanupOrphans(minAgeMs: number, limit = 1_000): Promise<number> {
    let deleted = 0;
    for (const txId of await this.outbox.olderThan(minAgeMs, limit)) {
      const record = await this.outbox.get(txId);
      if (!record) continue;
      const { value } = await this.storeOf(undefined).load(
        record.document.partition,
        record.document.id,
      );
      if (metadataOf<TransactionMetadata>(value)?.txId === txId) continue; // committed and pending: the next message finishes it
      await this.outbox.delete(txId);
      deleted++;
    }
    return deleted;
  }

  /** Forgets processed ids older than `retentionMs`; returns how many went. */
  cleanupInbox(retentionMs: number, batch?: number): Promise<number> {
    return this.inbox.cleanup(retentionMs, batch);
  }
}

import { randomUUID } from 'node:crypto';
import {
  type Delivery,
  DocumentStrategy,
  type DocumentStrategyOptions,
  type InboxStore,
  type Loaded,
  OUT_OF_DOCUMENT_STEPS,
  type OutboxStore,
  type OutgoingOperation,
  type OutOfDocumentStep,
} from '@pierogi/shared';

/** What the document keeps: the one transaction pending, if any. */
export interface PendingTransaction {
  readonly txId?: string;
}

/**
 * The outbox outside the document, tied to it by a single field: `txId` names the record in the
 * outbox store that holds the messages of the last message processed, until they are out. At
 * most one transaction is pending per entity, so a message that finds one finishes it first,
 * whichever message it belongs to: nothing waits behind a crash longer than the next message.
 *
 *   load the entity
 *   if txId is set, finish that transaction first:
 *     dispatch its messages; mark its OWNER's id in the inbox; delete the record; clear txId
 *   if the inbox has this message's id: a duplicate; done
 *   run the handler; store its messages under a new txId
 *   store state + txId (one write: the commit)
 *   finish the transaction as above
 *
 * The owner's id is what gets marked: the message finishing a transaction may be the next one
 * for the same entity. Marking the message being delivered instead would drop it (it was never
 * processed, and now looks processed) and let the owner be processed a second time.
 */
export class OutOfDocumentOutbox<S extends object> extends DocumentStrategy<
  S,
  PendingTransaction,
  OutOfDocumentStep
> {
  static readonly STEPS = OUT_OF_DOCUMENT_STEPS;

  private readonly outbox: OutboxStore<OutgoingOperation>;
  private readonly inbox: InboxStore;

  constructor(
    options: DocumentStrategyOptions<S> & {
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
    // The record first: a crash before the commit leaves a record nothing points to.
    await this.step('store-outbox', message, () =>
      this.outbox.put(txId, {
        ownerMessageId: message.id,
        document: { partition: loaded.partition, id: loaded.id },
        messages: result.operations,
      }),
    );
    loaded = await this.save('commit', delivery, loaded, { state: result.state, meta: { txId } });
    await this.finish(delivery, loaded);
  }

  /** Completes the transaction `txId` names. */
  private async finish(
    delivery: Delivery,
    loaded: Loaded<S, PendingTransaction>,
  ): Promise<Loaded<S, PendingTransaction>> {
    const { message } = delivery;
    const txId = loaded.doc.meta.txId as string;
    const record = await this.step('load-outbox', message, () => this.outbox.get(txId));
    if (record) {
      await this.dispatch(message, record.messages);
      // The message that made these messages, which need not be the one being delivered.
      await this.step('mark-inbox', message, () => this.inbox.mark(record.ownerMessageId));
      await this.step('delete-outbox', message, () => this.outbox.delete(txId));
    }
    return this.saveMeta('clear-transaction', delivery, loaded, {});
  }
}

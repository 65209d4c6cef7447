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

/** What the document keeps: which transaction each message left pending, by incoming id. */
export interface PendingTransactions {
  readonly transactions?: Readonly<Record<string, string>>;
}

/**
 * The outbox outside the document: the messages a message caused wait in `this.outbox`, in a
 * record keyed by a transaction id; the document keeps only `transactions[incoming id]`, until
 * the messages are out. The inbox remembers the ids processed.
 *
 *   load the entity                                  ← before the inbox
 *   if no pending transaction for this message:
 *     if the inbox has its id: a duplicate; done
 *     run the handler; store its messages under a new transaction id (owner: this message)
 *     store state + transactions[id] (one write: the commit)
 *   load the record; dispatch its messages
 *   mark the id in the inbox; delete the record; remove transactions[id]
 */
export class OutOfDocumentOutbox<S extends object> extends DocumentStrategy<
  S,
  PendingTransactions,
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
    let loaded = await this.load(delivery); // before the inbox: a racing copy cannot slip through
    let txId = loaded.doc.meta.transactions?.[message.id];
    if (txId === undefined) {
      if (await this.step('check-inbox', message, () => this.inbox.has(message.id))) return;
      const result = await this.runHandler(delivery, next, loaded.doc.state);
      const newTxId = randomUUID();
      // The record first: a crash before the commit leaves a record nothing points to (never a
      // pointer to nothing).
      await this.step('store-outbox', message, () =>
        this.outbox.put(newTxId, {
          ownerMessageId: message.id,
          document: { partition: loaded.partition, id: loaded.id },
          messages: result.operations,
        }),
      );
      loaded = await this.save('commit', delivery, loaded, {
        state: result.state,
        meta: { transactions: { ...loaded.doc.meta.transactions, [message.id]: newTxId } },
      });
      txId = newTxId;
    }
    const pending = txId;
    const record = await this.step('load-outbox', message, () => this.outbox.get(pending));
    if (record) await this.dispatch(message, record.messages);
    await this.step('mark-inbox', message, () => this.inbox.mark(message.id));
    await this.step('delete-outbox', message, () => this.outbox.delete(pending));
    await this.clear(delivery, loaded);
  }

  /** Stores the document without the delivery's pending transaction. */
  private clear(
    delivery: Delivery,
    loaded: Loaded<S, PendingTransactions>,
  ): Promise<Loaded<S, PendingTransactions>> {
    const { [delivery.message.id]: _done, ...transactions } = loaded.doc.meta.transactions ?? {};
    return this.saveMeta(
      'clear-transaction',
      delivery,
      loaded,
      Object.keys(transactions).length === 0 ? {} : { transactions },
    );
  }
}

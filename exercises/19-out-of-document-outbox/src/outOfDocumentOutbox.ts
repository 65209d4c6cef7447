import type {
  Delivery,
  DocumentStrategyOptions,
  InboxStore,
  OutboxStore,
  OutgoingOperation,
  OutOfDocumentStep,
  PendingMessages,
} from '@pierogi/shared';
import { OUT_OF_DOCUMENT_STEPS, OutboxStrategy } from '@pierogi/shared';

/**
 * The outbox + inbox of exercise 13: the messages a message caused wait in the document
 * (`outbox[its id]`) until they are out; the inbox remembers the ids processed. The document now
 * has a size limit, and the messages are in it, whole.
 *
 * 👉 Move the messages out of the document, into `this.outbox` (an `OutboxStore`: records keyed
 *    by a transaction id), and keep in the document only which transaction each message left
 *    pending: `meta.transactions[incoming id] = transaction id`.
 */
export class OutOfDocumentOutbox<S extends object> extends OutboxStrategy<
  S,
  PendingMessages,
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
    if (await this.step('check-inbox', message, () => this.inbox.has(message.id))) {
      if (this.entryOf(loaded, message.id) !== undefined) {
        await this.removeEntry('clear-transaction', delivery, loaded);
      }
      return;
    }
    let entry = this.entryOf(loaded, message.id);
    if (!entry) {
      // 👉 1. Run the handler (`this.runHandler`), store what it sent in `this.outbox` under a new
      //    transaction id (step 'store-outbox'), then the state and the transaction id in the
      //    document (step 'commit'). 🤔 Which of the two writes first, and why?
      ({ loaded, entry } = await this.handleIntoOutbox(delivery, next, loaded, (operations) => ({
        operations,
      })));
    }
    // 👉 2. Load the record (step 'load-outbox') and dispatch its messages; mark the inbox; delete
    //    the record (step 'delete-outbox'); remove the transaction from the document.
    await this.dispatch(message, entry.operations);
    await this.step('mark-inbox', message, () => this.inbox.mark(message.id));
    await this.removeEntry('clear-transaction', delivery, loaded);
  }
}

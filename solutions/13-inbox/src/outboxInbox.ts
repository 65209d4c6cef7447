import {
  type Delivery,
  DocumentStrategy,
  type DocumentStrategyOptions,
  type Envelope,
  type InboxStore,
  type Loaded,
  PgInboxStore,
} from '@pierogi/shared';
import { type Entities, type ShopContext, strategyStore } from '@pierogi/shop';

/**
 * The generic outbox of exercise 12, with an inbox beside it: a store of the ids of processed
 * messages. Once a message's outgoing messages are out, its entry leaves the document; the inbox
 * remembers that it was processed.
 *
 * The steps it shares with the library's other strategies come from `DocumentStrategy`
 * (shared/src/dedup/documentStrategy.ts): `load`, `handleIntoOutbox` (run the handler, store the
 * state and the outbox entry in one write: the step `commit`) and `dispatch`. Each step has a
 * name the chaos monkey can fail, delay or crash: `load`, `check-inbox`, `commit`, `dispatch`,
 * `mark-inbox`, `cleanup`.
 */
export class OutboxInbox<S> extends DocumentStrategy<S> {
  private readonly inbox: InboxStore;

  constructor(options: DocumentStrategyOptions<S> & { readonly inbox: InboxStore }) {
    super(options);
    this.inbox = options.inbox;
  }

  protected async process(delivery: Delivery, next: () => Promise<void>): Promise<void> {
    const { message } = delivery;
    let loaded = await this.load(message); // before the inbox: a racing copy cannot slip through
    if (await this.inInbox(message)) {
      // Processed. An entry left by a crash between marking and removing goes now.
      if (loaded.doc.outbox?.[message.id] !== undefined) await this.removeEntry(message, loaded);
      return;
    }
    let entry = loaded.doc.outbox?.[message.id];
    if (!entry) ({ loaded, entry } = await this.handleIntoOutbox(delivery, next, loaded));
    await this.dispatch(message, entry.operations);
    await this.markInInbox(message); // after the dispatch, before the entry goes
    await this.removeEntry(message, loaded);
  }

  /** The step `check-inbox`: was this message processed? */
  private inInbox(message: Envelope): Promise<boolean> {
    return this.step('check-inbox', message, () => this.inbox.has(message.id));
  }

  /** The step `mark-inbox`: this message is processed. */
  private markInInbox(message: Envelope): Promise<void> {
    return this.step('mark-inbox', message, () => this.inbox.mark(message.id));
  }

  /** The step `cleanup`: stores the document without this message's outbox entry. */
  private async removeEntry(message: Envelope, loaded: Loaded<S>): Promise<void> {
    const { [message.id]: _removed, ...outbox } = loaded.doc.outbox ?? {};
    await this.save('cleanup', message, loaded, { ...loaded.doc, outbox });
  }
}

/** Which entity a message is about, and its state before the first message. */
export interface EntityOf<S> {
  readonly idOf: (message: Envelope) => string;
  readonly initial: (message: Envelope) => S;
}

/**
 * Installs the outbox + inbox on the endpoint. Its documents are `entities`, stored flat as the
 * page reads them (`strategyStore`); its inbox is a table in the shop's database, one per
 * endpoint; its steps go through the chaos monkey.
 */
export async function useOutboxInbox<S>(
  shop: ShopContext,
  entities: Entities<S>,
  entity: EntityOf<S>,
): Promise<void> {
  const inbox = new PgInboxStore(shop.pool, shop.endpoint.name);
  await inbox.install();
  new OutboxInbox<S>({
    store: strategyStore(entities),
    inbox,
    locate: (message) => ({ partition: shop.endpoint.name, id: entity.idOf(message) }),
    initial: entity.initial,
    steps: shop.steps,
  }).use(shop.endpoint);
}

/** The order a message of the shop is about. */
export function orderIdOf(message: Envelope): string {
  return (message.body as { orderId: string }).orderId;
}

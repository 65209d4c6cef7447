import {
  type Delivery,
  type DocumentStrategyOptions,
  type Envelope,
  type InboxStore,
  OUTBOX_INBOX_STEPS,
  type OutboxInboxStep,
  OutboxStrategy,
  type PendingMessages,
  PgInboxStore,
} from '@pierogi/shared';
import type { Entities, ShopContext } from '@pierogi/shop';

/**
 * The generic outbox of exercise 12, with an inbox beside it: a store of the ids of processed
 * messages. Once a message's outgoing messages are out, its entry leaves the document; the inbox
 * remembers that it was processed.
 *
 * The steps it shares with the library's other strategies come from `OutboxStrategy`
 * (shared/src/strategies/documentStrategy.ts): `load`, `entryOf` (this message's outbox entry),
 * `handleIntoOutbox` (run the handler, store the state and the outbox entry in one write: the
 * step `commit`), `dispatch` and `removeEntry`. The entries sit in the document beside the state,
 * where the library keeps a strategy's data. Each step has a name the chaos monkey can fail,
 * delay or crash: `load`, `check-inbox`, `commit`, `dispatch`, `mark-inbox`, `cleanup`.
 */
export class OutboxInbox<S extends object> extends OutboxStrategy<
  S,
  PendingMessages,
  OutboxInboxStep
> {
  static readonly STEPS = OUTBOX_INBOX_STEPS;

  private readonly inbox: InboxStore;

  constructor(options: DocumentStrategyOptions<S> & { readonly inbox: InboxStore }) {
    super(options);
    this.inbox = options.inbox;
  }

  protected async process(delivery: Delivery, next: () => Promise<void>): Promise<void> {
    const { message } = delivery;
    let loaded = await this.load(delivery); // before the inbox: a racing copy cannot slip through
    if (await this.inInbox(message)) {
      // Processed. An entry left by a crash between marking and removing goes now.
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
    await this.markInInbox(message); // after the dispatch, before the entry goes
    await this.removeEntry('cleanup', delivery, loaded);
  }

  /** The step `check-inbox`: was this message processed? */
  private inInbox(message: Envelope): Promise<boolean> {
    return this.step('check-inbox', message, () => this.inbox.has(message.id));
  }

  /** The step `mark-inbox`: this message is processed. */
  private markInInbox(message: Envelope): Promise<void> {
    return this.step('mark-inbox', message, () => this.inbox.mark(message.id));
  }
}

/** Which entity a message is about, and its state before the first message. */
export interface EntityOf<S> {
  readonly idOf: (message: Envelope) => string;
  readonly initial: (message: Envelope) => S;
}

/**
 * Installs the outbox + inbox on the endpoint. Its documents are `entities`, as each message's
 * unit of work sees them (so chaos rules at `orders.save` can pick the message); its inbox is a
 * table in the shop's database, one per endpoint; its steps go through the chaos monkey.
 */
export async function useOutboxInbox<S extends object>(
  shop: ShopContext,
  entities: Entities<S>,
  entity: EntityOf<S>,
): Promise<void> {
  const inbox = new PgInboxStore(shop.pool, shop.endpoint.name);
  await inbox.install();
  new OutboxInbox<S>({
    store: entities.forStrategy(),
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

import { ConcurrencyError, MemoryDocumentStore, MemoryInbox, type StepHook } from '@pierogi/shared';
import { type ActorRun, stepwise } from '@pierogi/shared/testing';

/**
 * Nothing to do here: what the AddItem handler of `addItem.ts` works on, kept in memory so that
 * the interleaving explorer can run it thousands of times, with fresh stores for every execution.
 */

/** An AddItem, as the handler receives it (a redelivery is the same message again). */
export interface AddItemMessage {
  readonly id: string;
  readonly orderId: string;
  readonly filling: string;
}

/** The ItemAdded the handler publishes for it. */
export interface ItemAddedMessage {
  readonly id: string;
  readonly orderId: string;
  readonly filling: string;
}

/**
 * The order document: its lines, and its outbox — the ItemAdded each AddItem caused, kept until
 * the AddItem is in the inbox — by the id of that AddItem.
 */
export interface OrderDocument {
  readonly lines: readonly string[];
  readonly outbox: Readonly<Record<string, ItemAddedMessage>>;
}

export interface AddItemStores {
  /** Documents by (partition, id); `save` refuses a write whose expected version is stale. */
  readonly orders: MemoryDocumentStore<OrderDocument>;
  /** The ids of the AddItems processed. */
  readonly inbox: MemoryInbox;
  /** What reached the broker: every ItemAdded published, copies included, in order. */
  readonly published: ItemAddedMessage[];
}

/** The partition the orders are kept in. */
export const ORDERS = 'orders';

export function newStores(): AddItemStores {
  return { orders: new MemoryDocumentStore(), inbox: new MemoryInbox(), published: [] };
}

/**
 * A handler of AddItem. Every step that touches a store goes through `steps.around(name, …)`:
 * there the explorer may let another copy go first, or crash this one (it then starts over, as
 * a redelivered message would).
 */
export type AddItemHandler = (
  stores: AddItemStores,
  message: AddItemMessage,
  steps: StepHook,
) => Promise<void>;

/** The one message the explorations run: two copies of it race each other. */
export const ADD_ITEM: AddItemMessage = { id: 'add-1', orderId: 'o-1', filling: 'Meat' };

/**
 * A copy of {@link ADD_ITEM} delivered to `handler`, as an actor for the explorer. When a save
 * finds the order changed (`ConcurrencyError`), the delivery is tried again at once, as the
 * endpoint would retry it.
 */
export function deliveryOf(handler: AddItemHandler): ActorRun<AddItemStores> {
  return stepwise((stores, steps) => handler(stores, ADD_ITEM, steps), {
    retryWhen: (error) => error instanceof ConcurrencyError,
  });
}

/** The order as it ended (an empty one if nobody saved it). */
export async function orderOf(stores: AddItemStores): Promise<OrderDocument> {
  return (await stores.orders.load(ORDERS, ADD_ITEM.orderId)).value ?? { lines: [], outbox: {} };
}

/** What the stores hold at the end of an execution, in a line: shown under a counterexample. */
export async function describeStores(stores: AddItemStores): Promise<string> {
  const order = await orderOf(stores);
  const outbox = Object.keys(order.outbox);
  const ids = stores.published.map((m) => m.id.slice(0, 8));
  return [
    `${ADD_ITEM.orderId} holds [${order.lines.join(', ')}]`,
    `outbox ${outbox.length === 0 ? 'empty' : `holds ${outbox.join(', ')}`}`,
    `inbox ${(await stores.inbox.has(ADD_ITEM.id)) ? `has ${ADD_ITEM.id}` : 'empty'}`,
    `published ${ids.length === 0 ? 'nothing' : ids.map((id) => `ItemAdded ${id}`).join(', ')}`,
  ].join('; ');
}

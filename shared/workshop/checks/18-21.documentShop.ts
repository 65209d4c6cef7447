import {
  Chaos,
  type ChaosRule,
  ConversationTracer,
  type DocumentStrategy,
  type DocumentStrategyOptions,
  defineCommand,
  defineEvent,
  Endpoint,
  type Envelope,
  entity,
  MemoryDocumentStore,
  MemoryTransport,
  type OutgoingMiddleware,
  type SettledConversation,
} from '@pierogi/shared';
import { z } from 'zod';

/**
 * The shop of Parts 4 and 5 in one process, for the checks of exercises 18–21: `orders` adds a
 * line per AddItem and publishes ItemAdded, `billing` counts the items — on the in-memory
 * transport and a document store with a size limit (like Cosmos DB's or DynamoDB's, smaller), with
 * the exercise's deduplication at both endpoints and the seeded chaos monkey on every step. It
 * needs no server: a check runs in milliseconds, the same on every machine.
 */
export const AddItem = defineCommand(
  'AddItem',
  z.object({ orderId: z.string(), filling: z.string() }),
);
export const ItemAdded = defineEvent(
  'ItemAdded',
  z.object({
    orderId: z.string(),
    filling: z.string(),
    /** Every line of the order so far, when the shop sends receipts (a message that grows). */
    receipt: z.array(z.string()).optional(),
  }),
);

export interface Order {
  lines: string[];
}
export interface Bill {
  items: number;
}

export type EndpointName = 'orders' | 'billing';

export interface DocumentShopOptions {
  /** The deduplication of one endpoint, over the shop's document store. */
  readonly strategy: (
    options: DocumentStrategyOptions<object>,
    endpoint: EndpointName,
  ) => DocumentStrategy<object, object, string>;
  /** Outgoing middleware of the frontend (a token-based receiver needs its tokens). */
  readonly frontend?: readonly OutgoingMiddleware[];
  /** The largest document the store takes. Default 16 KB. */
  readonly maxDocumentBytes?: number;
  /** Chaos rules at orders and billing (and `frontend` rules on what the frontend sends). */
  readonly chaos?: readonly ChaosRule[];
  readonly frontendChaos?: readonly ChaosRule[];
  readonly seed?: number;
  /** Each ItemAdded carries the whole order (`receipt`): messages grow with the order. */
  readonly receipts?: boolean;
}

export interface DocumentShop {
  readonly documents: MemoryDocumentStore<object>;
  readonly chaos: Chaos;
  /** Sends an AddItem as the frontend would and waits until everything it caused is done. */
  add(orderId: string, filling: string): Promise<SettledConversation & { sent: Envelope }>;
  /** Sends this very message to orders again (a copy the broker delivers late) and waits. */
  resend(message: Envelope): Promise<SettledConversation>;
  order(orderId: string): Promise<(Order & object) | undefined>;
  bill(orderId: string): Promise<(Bill & object) | undefined>;
  /** The ids of the ItemAdded billing received (copies included), by the AddItem that caused them. */
  readonly itemsAdded: Map<string, Set<string>>;
  /** Each AddItem as orders received it (headers included), by id. */
  readonly received: Map<string, Envelope>;
  /** The name of the error each message's last failed attempt threw (at orders or billing), by id. */
  readonly errorNames: Map<string, string>;
  close(): Promise<void>;
}

export async function startDocumentShop(options: DocumentShopOptions): Promise<DocumentShop> {
  const documents = new MemoryDocumentStore<object>(options.maxDocumentBytes ?? 16 * 1024);
  const tracer = new ConversationTracer();
  const transport = tracer.wrap(new MemoryTransport());
  const seed = options.seed ?? 1;
  const chaos = new Chaos({ seed });
  for (const rule of options.chaos ?? []) chaos.add(rule);
  const frontendChaos = new Chaos({ seed: seed + 1 });
  for (const rule of options.frontendChaos ?? []) frontendChaos.add(rule);
  const recoverability = { immediateRetries: 5, delayedRetriesMs: [5, 10, 20, 50, 100] };
  const common = (endpoint: EndpointName, initial: () => object) =>
    options.strategy(
      {
        store: documents,
        locate: (m) => ({ partition: endpoint, id: (m.body as { orderId: string }).orderId }),
        initial,
        steps: chaos,
      },
      endpoint,
    );

  const received = new Map<string, Envelope>();
  const errorNames = new Map<string, string>();
  /** Outermost: remembers which error a message's attempt threw (the error queue keeps its message). */
  const namingErrors = async (ctx: { message: Envelope }, next: () => Promise<void>) => {
    try {
      await next();
    } catch (error) {
      errorNames.set(ctx.message.id, error instanceof Error ? error.name : typeof error);
      throw error;
    }
  };
  const orders = new Endpoint({
    name: 'orders',
    transport: chaos.wrap(transport),
    recoverability,
    incoming: [
      namingErrors,
      async (ctx, next) => {
        received.set(ctx.message.id, ctx.message);
        await next();
      },
      chaos.incoming,
    ],
  });
  common('orders', () => ({ lines: [] }))
    .use(orders)
    .handle(AddItem, async (m, ctx) => {
      const order = entity<Order>(ctx).state;
      order.lines.push(m.body.filling);
      await ctx.publish(ItemAdded, {
        ...m.body,
        ...(options.receipts ? { receipt: [...order.lines] } : {}),
      });
    });

  const itemsAdded = new Map<string, Set<string>>();
  const billing = new Endpoint({
    name: 'billing',
    transport,
    recoverability,
    incoming: [
      namingErrors,
      async (ctx, next) => {
        const cause = ctx.message.headers.causationId ?? '';
        itemsAdded.set(cause, (itemsAdded.get(cause) ?? new Set()).add(ctx.message.id));
        await next();
      },
      chaos.incoming,
    ],
  });
  common('billing', () => ({ items: 0 }))
    .use(billing)
    .handle(ItemAdded, async (_m, ctx) => {
      entity<Bill>(ctx).state.items++;
    });

  const frontend = new Endpoint({
    name: 'frontend',
    transport: frontendChaos.wrap(transport),
    outgoing: [...(options.frontend ?? [])],
  });
  await orders.start();
  await billing.start();
  const settle = (message: Envelope) =>
    tracer.waitUntilSettled(message.headers.conversationId, { timeoutMs: 10_000 });
  const load = async <T>(partition: EndpointName, id: string) =>
    (await documents.load(partition, id)).value as T | undefined;
  return {
    documents,
    chaos,
    itemsAdded,
    received,
    errorNames,
    async add(orderId, filling) {
      const sent = await frontend.send(AddItem, { orderId, filling }, { to: 'orders' });
      return { ...(await settle(sent)), sent };
    },
    async resend(message) {
      await frontend.dispatch([{ message, destination: { kind: 'send', endpoint: 'orders' } }]);
      return settle(message);
    },
    order: (orderId) => load<Order>('orders', orderId),
    bill: (orderId) => load<Bill>('billing', orderId),
    async close() {
      for (const e of [orders, billing, frontend]) await e.stop({ drain: false });
      await transport.close();
    },
  };
}

/** The chaos of the exactly-once checks: copies, late copies, failed commits, crashes at every step. */
export function exactlyOnceChaos(steps: readonly string[]): {
  chaos: ChaosRule[];
  frontendChaos: ChaosRule[];
} {
  return {
    frontendChaos: [{ kind: 'duplicate', rate: 0.3 }],
    chaos: [
      { kind: 'drop-then-redeliver', rate: 0.05 },
      { kind: 'duplicate', messageType: 'ItemAdded', rate: 0.2 },
      { kind: 'delay', delayMs: 3, rate: 0.1 },
      { kind: 'fail-commit', rate: 0.05 },
      { kind: 'timeout', delayMs: 2, rate: 0.05 },
      ...steps.map((step): ChaosRule => ({ kind: 'crash', step, rate: 0.03 })),
    ],
  };
}

/**
 * Sends `count` AddItems to orders, spread over `orders` orders, `parallel` at a time, and waits
 * for each; returns the messages sent and the conversations that ended with a failure. It stops
 * after the first batch that had a failure: the rest would only fail the same way, slowly.
 */
export async function addMany(
  shop: DocumentShop,
  count: number,
  spread: { orders: number; parallel: number },
): Promise<{ sent: Envelope[]; failed: SettledConversation['failed'][number][] }> {
  const fillings = ['Meat', 'Mushrooms', 'QuarkAndPotatoes', 'SwissCheese', 'Strawberry'];
  const sent: Envelope[] = [];
  const failed: SettledConversation['failed'][number][] = [];
  for (let i = 0; i < count; i += spread.parallel) {
    const batch = Array.from({ length: Math.min(spread.parallel, count - i) }, (_, k) => i + k);
    const results = await Promise.all(
      batch.map((n) => shop.add(`order-${n % spread.orders}`, fillings[n % 5] as string)),
    );
    for (const r of results) {
      sent.push(r.sent);
      failed.push(...r.failed);
    }
    if (failed.length > 0) break;
  }
  return { sent, failed };
}

/** How each order and bill differs from one line and one item per AddItem sent, if at all. */
export async function wrongOrders(shop: DocumentShop, sent: readonly Envelope[]) {
  const expected = new Map<string, number>();
  for (const m of sent) {
    const { orderId } = m.body as { orderId: string };
    expected.set(orderId, (expected.get(orderId) ?? 0) + 1);
  }
  const wrong: string[] = [];
  for (const [orderId, n] of expected) {
    const lines = (await shop.order(orderId))?.lines.length ?? 0;
    const items = (await shop.bill(orderId))?.items ?? 0;
    if (lines !== n || items !== n) {
      wrong.push(
        `${orderId}: ${n} AddItem(s) sent, ${lines} line(s) in the order, ${items} billed`,
      );
    }
  }
  const sentTwice = [...shop.itemsAdded].filter(([, ids]) => ids.size > 1).length;
  if (sentTwice > 0) wrong.push(`${sentTwice} AddItem(s) caused ItemAdded with different ids`);
  return wrong;
}

/** Each message that ended in the error queue, with the name of the error it ended with. */
export function describeFailures(
  shop: DocumentShop,
  failed: readonly SettledConversation['failed'][number][],
): string[] {
  return failed.map(
    (f) =>
      `${f.type} at ${f.endpoint}: ${shop.errorNames.get(f.messageId) ?? 'Error'}: ${f.reason}`,
  );
}

/**
 * What the strategies keep in documents, one line per document, without the ids themselves:
 * `order-3, the order: outbox with 6 entries`. At most `limit` lines, then how many more.
 */
export function summariseMetadata(
  documents: readonly { orderId: string; which: 'the order' | 'the bill'; meta: object }[],
  limit = 4,
): string[] {
  const lines = documents.map(({ orderId, which, meta }) => {
    const fields = Object.entries(meta).map(([key, value]) =>
      value !== null && typeof value === 'object'
        ? `${key} with ${Object.keys(value).length} entr${Object.keys(value).length === 1 ? 'y' : 'ies'}`
        : `${key} = ${JSON.stringify(value)}`,
    );
    return `${orderId}, ${which}: ${fields.join(', ')}`;
  });
  return lines.length > limit
    ? [...lines.slice(0, limit), `… and ${lines.length - limit} more document(s) like these`]
    : lines;
}

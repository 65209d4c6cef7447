/**
 * What each document strategy stores per message, and for how long, measured on one run: part of
 * `pnpm bench`, or alone with `pnpm exec tsx shared/bench/strategyStorage.ts [messages]`. Orders handles AddItem (one line
 * more, one ItemAdded) and billing counts, on the in-memory transport and stores; every AddItem
 * goes to one order. After everything settled: the bytes of the strategy's field in the order's
 * document, and the rows each strategy keeps elsewhere (inbox ids, outbox records, tokens).
 */
import { z } from 'zod';
import { Endpoint, type OutgoingOperation } from '../src/bus/index.ts';
import { createLogger } from '../src/log/index.ts';
import { defineCommand, defineEvent } from '../src/messages/index.ts';
import { ConversationTracer } from '../src/observe/index.ts';
import {
  MemoryDocumentStore,
  MemoryInbox,
  MemoryOutboxStore,
  MemoryTokenStore,
} from '../src/store/index.ts';
import {
  DocumentOutbox,
  DocumentOutboxInbox,
  type DocumentStrategy,
  type DocumentStrategyOptions,
  entity,
  IdentityBased,
  OutOfDocumentOutbox,
  STRATEGY_FIELD,
  StateBased,
  TokenBased,
  tokenSender,
} from '../src/strategies/index.ts';
import { MemoryTransport } from '../src/transports/index.ts';

/** The endpoints' start and stop lines would bury the table. */
const QUIET = createLogger({ level: 'warn' });

const AddItem = defineCommand('AddItem', z.object({ orderId: z.string(), filling: z.string() }));
const ItemAdded = defineEvent('ItemAdded', z.object({ orderId: z.string(), filling: z.string() }));

interface Stores {
  readonly inbox: MemoryInbox[];
  readonly outbox: MemoryOutboxStore<OutgoingOperation>;
  readonly tokens: MemoryTokenStore;
}
type Make = (
  options: DocumentStrategyOptions<object>,
  endpoint: string,
  stores: Stores,
) => DocumentStrategy<object, object, string>;

const inboxOf = (stores: Stores) => {
  const inbox = new MemoryInbox();
  stores.inbox.push(inbox);
  return inbox;
};

const STRATEGIES: Record<string, Make> = {
  'identity-based': (o) => new IdentityBased(o),
  'outbox in the document': (o) => new DocumentOutbox(o),
  'outbox in the document + inbox': (o, _e, s) =>
    new DocumentOutboxInbox({ ...o, inbox: inboxOf(s) }),
  'token-based': (o, e, s) =>
    new TokenBased({
      ...o,
      tokens: s.tokens,
      ...(e === 'orders' ? { subscribers: { ItemAdded: ['billing'] } } : {}),
    }),
  'out-of-document outbox': (o, _e, s) =>
    new OutOfDocumentOutbox({ ...o, outbox: s.outbox, inbox: inboxOf(s) }),
  'state-based (keep 16)': (o) => new StateBased({ ...o, keep: 16 }),
};

async function measure(make: Make, messages: number, tokens: boolean) {
  const documents = new MemoryDocumentStore<object>(16 * 1024 * 1024);
  const stores: Stores = {
    inbox: [],
    outbox: new MemoryOutboxStore(),
    tokens: new MemoryTokenStore(),
  };
  const tracer = new ConversationTracer();
  const transport = tracer.wrap(new MemoryTransport());
  const options = (endpoint: string, initial: () => object): DocumentStrategyOptions<object> => ({
    store: documents,
    locate: (m) => ({ partition: endpoint, id: (m.body as { orderId: string }).orderId }),
    initial,
  });
  const orders = new Endpoint({ name: 'orders', transport, logger: QUIET });
  make(
    options('orders', () => ({ lines: [] })),
    'orders',
    stores,
  )
    .use(orders)
    .handle(AddItem, async (m, ctx) => {
      entity<{ lines: string[] }>(ctx).state.lines.push(m.body.filling);
      await ctx.publish(ItemAdded, m.body);
    });
  const billing = new Endpoint({ name: 'billing', transport, logger: QUIET });
  make(
    options('billing', () => ({ items: 0 })),
    'billing',
    stores,
  )
    .use(billing)
    .handle(ItemAdded, async (_m, ctx) => {
      entity<{ items: number }>(ctx).state.items++;
    });
  const frontend = new Endpoint({
    name: 'frontend',
    transport,
    outgoing: tokens ? [tokenSender(stores.tokens)] : [],
  });
  await orders.start();
  await billing.start();
  let peakTokens = 0;
  for (let i = 0; i < messages; i++) {
    const sent = await frontend.send(AddItem, { orderId: 'o1', filling: 'Meat' }, { to: 'orders' });
    peakTokens = Math.max(peakTokens, await stores.tokens.count());
    await tracer.waitUntilSettled(sent.headers.conversationId);
  }
  const doc = (await documents.load('orders', 'o1')).value as Record<string, unknown>;
  const meta = doc[STRATEGY_FIELD];
  const state = { ...doc };
  delete state[STRATEGY_FIELD];
  let inboxIds = 0;
  for (const inbox of stores.inbox) inboxIds += await inbox.count();
  for (const e of [orders, billing, frontend]) await e.stop({ drain: false });
  await transport.close();
  return {
    'order state (bytes)': Buffer.byteLength(JSON.stringify(state)),
    'strategy field in the order (bytes)': meta ? Buffer.byteLength(JSON.stringify(meta)) : 0,
    'inbox ids (both endpoints)': inboxIds,
    'outbox records': (await stores.outbox.olderThan(0, 1_000_000)).length,
    'tokens left': await stores.tokens.count(),
    'tokens at most (in flight)': peakTokens,
  };
}

/** Every strategy's storage after `messages` AddItems to one order, by strategy. */
export async function strategyStorage(
  messages: number,
): Promise<Record<string, Record<string, number>>> {
  if (!Number.isInteger(messages) || messages < 1) {
    throw new Error(`the number of messages must be a whole number ≥ 1, not ${messages}`);
  }
  const table: Record<string, Record<string, number>> = {};
  for (const [name, make] of Object.entries(STRATEGIES))
    table[name] = await measure(make, messages, name === 'token-based');
  return table;
}

// Run on its own: `pnpm exec tsx shared/bench/strategyStorage.ts [messages]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const messages = Number(process.argv[2] ?? 200);
  const table = await strategyStorage(messages);
  console.log(`${messages} AddItems to one order, each causing one ItemAdded to billing, settled:`);
  console.table(table);
}

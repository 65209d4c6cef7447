import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  Endpoint,
  type OutgoingMiddleware,
  type OutgoingOperation,
  type Transport,
} from '../src/bus/index.ts';
import { Chaos } from '../src/chaos/index.ts';
import {
  type DocumentStrategy,
  type DocumentStrategyOptions,
  entity,
  IdentityBased,
  metadataOf,
  type OutboxMetadata,
  type TransactionMetadata,
} from '../src/index.ts';
import { defineCommand, defineEvent, type Envelope } from '../src/messages/index.ts';
import { ConversationTracer } from '../src/observe/index.ts';
import { PgDocumentStore, PgInboxStore, PgOutboxStore, PgTokenStore } from '../src/store/index.ts';
import {
  DocumentOutbox,
  DocumentOutboxInbox,
  OutOfDocumentOutbox,
  StateBased,
  type StateMetadata,
  TokenBased,
  tokenSender,
} from '../src/strategies/index.ts';
import { isEmbedded, useIsolation } from '../src/testing/index.ts';
import { connectTransport } from '../src/transports/index.ts';

/**
 * Each document strategy, at both ends of a conversation (orders handles AddItem and publishes
 * ItemAdded; billing counts the items), on real RabbitMQ and Postgres, with chaos at every step:
 * the end state and the messages must be exactly right.
 */
const AddItem = defineCommand('AddItem', z.object({ orderId: z.string(), filling: z.string() }));
const ItemAdded = defineEvent('ItemAdded', z.object({ orderId: z.string(), filling: z.string() }));
const FILLINGS = ['Meat', 'Mushrooms', 'QuarkAndPotatoes', 'SwissCheese', 'Strawberry'];
const ORDERS = 120;
// On the embedded stand-ins (one database session, so slower), two seeds of the five.
const SEEDS = isEmbedded('postgres') ? [101, 202] : [101, 202, 303, 404, 505];
/** Every step a strategy runs through its hook; the chaos monkey crashes each now and then. */
const STEPS = [
  'load',
  'commit',
  'dispatch',
  'mark-dispatched',
  'check-inbox',
  'mark-inbox',
  'cleanup',
  'check-token',
  'create-tokens',
  'tokens-generated',
  'delete-token',
  'store-outbox',
  'load-outbox',
  'delete-outbox',
  'clear-transaction',
  'plan-tokens',
  'discard-tokens',
];
/** Steps where a write happens and its caller still sees a failure (a timeout). */
const WRITES = [
  'cleanup',
  'mark-dispatched',
  'mark-inbox',
  'tokens-generated',
  'clear-transaction',
];

interface Order {
  lines: { messageId: string; filling: string }[];
}
interface Bill {
  items: number;
}

/** What a strategy needs beyond the document store, and what it must leave behind. */
interface Setup {
  make<S extends object>(
    options: DocumentStrategyOptions<S>,
    endpoint: string,
  ): DocumentStrategy<S, object, string>;
  /** Outgoing middleware of the endpoint that sends from outside a handler. */
  frontend: OutgoingMiddleware[];
  /** Leftovers once everything settled (and cleaned up); each must be 0. */
  leftovers(doomed: { id: string; to: string }): Promise<Record<string, number>>;
}

type Strategy = {
  name: string;
  setup(pool: pg.Pool, tag: string, docs: () => Promise<object[]>): Promise<Setup>;
};

const pending = async (docs: () => Promise<object[]>) =>
  (await docs()).reduce(
    (n, d) =>
      n +
      Object.values(metadataOf<OutboxMetadata<unknown>>(d)?.outbox ?? {}).filter((e) => e !== null)
        .length,
    0,
  );

const STRATEGIES: Strategy[] = [
  {
    name: 'identity-based with deterministic ids',
    async setup() {
      return {
        make: (options) => new IdentityBased(options),
        frontend: [],
        leftovers: async () => ({}),
      };
    },
  },
  {
    name: 'generic outbox in the document',
    async setup(_pool, _tag, docs) {
      return {
        make: (options) => new DocumentOutbox(options),
        frontend: [],
        leftovers: async () => ({ 'undispatched outbox entries': await pending(docs) }),
      };
    },
  },
  {
    name: 'outbox in the document + inbox',
    async setup(pool, tag, docs) {
      const inboxes: PgInboxStore[] = [];
      return {
        make: (options, endpoint) => {
          const inbox = new PgInboxStore(pool, `${endpoint}_${tag}`, `inbox_${tag}`);
          inboxes.push(inbox);
          return new DocumentOutboxInbox({ ...options, inbox });
        },
        frontend: [],
        leftovers: async () => {
          let rows = 0;
          for (const inbox of inboxes) rows += await inbox.count();
          for (const inbox of inboxes) await inbox.cleanup(0);
          let left = 0;
          for (const inbox of inboxes) left += await inbox.count();
          return {
            'outbox entries': await pending(docs),
            // One row per message processed: ORDERS AddItem in orders, ORDERS ItemAdded in billing.
            'inbox rows other than one per processed message': Math.abs(rows - 2 * ORDERS),
            'inbox rows after cleanup': left,
          };
        },
      };
    },
  },
  {
    name: 'token-based',
    async setup(pool, tag, docs) {
      const tokens = new PgTokenStore(pool, `tokens_${tag}`);
      await tokens.install();
      return {
        make: (options, endpoint) =>
          new TokenBased({
            ...options,
            tokens,
            ...(endpoint.startsWith('orders')
              ? { subscribers: { ItemAdded: [endpoint.replace('orders', 'billing')] } }
              : {}),
          }),
        frontend: [tokenSender(tokens)],
        leftovers: async (doomed) => {
          // The message that could never be stored keeps its token (it is in the error queue).
          const doomedTokens = (await tokens.version(`${doomed.id}@${doomed.to}`)) ? 1 : 0;
          return {
            'outbox entries': await pending(docs),
            'doomed token missing': 1 - doomedTokens,
            'tokens besides the doomed one': (await tokens.count()) - doomedTokens,
          };
        },
      };
    },
  },
  {
    name: 'out-of-document outbox (single transaction id)',
    async setup(pool, tag, docs) {
      const outbox = new PgOutboxStore<OutgoingOperation>(pool, `outbox_records_${tag}`);
      await outbox.install();
      const strategies: OutOfDocumentOutbox<object>[] = [];
      return {
        make: (options, endpoint) => {
          const inbox = new PgInboxStore(pool, `${endpoint}_${tag}`, `inbox_${tag}`);
          const strategy = new OutOfDocumentOutbox({ ...options, outbox, inbox });
          strategies.push(strategy as OutOfDocumentOutbox<object>);
          return strategy;
        },
        frontend: [],
        leftovers: async () => {
          for (const s of strategies) await s.cleanupOrphans(0);
          return {
            'pending transactions': (await docs()).filter(
              (d) => metadataOf<TransactionMetadata>(d)?.txId !== undefined,
            ).length,
            'outbox records': (await outbox.olderThan(0, 10_000)).length,
          };
        },
      };
    },
  },
  {
    name: 'state-based (deterministic handler, no outbox)',
    async setup(_pool, _tag, docs) {
      const keep = 8;
      return {
        make: (options) => new StateBased({ ...options, keep }),
        frontend: [],
        // The history is one entry per message applied, the last `keep` of them, nothing more.
        leftovers: async () => ({
          'documents whose history is not one entry per message applied': (await docs()).filter(
            (d) => {
              const applied = (d as Partial<Order>).lines?.length ?? (d as Bill).items;
              const history = metadataOf<StateMetadata<object>>(d)?.history ?? [];
              return history.length !== Math.min(applied, keep);
            },
          ).length,
        }),
      };
    },
  },
];

/** The test files the strategies are shared between, so that they run side by side. */
export const PROOF_PARTS = 2;

/**
 * The proof of every other strategy of the list, from the `part`-th on: each test file runs its
 * share, and the files run side by side.
 */
export function proveStrategies(part: number): void {
  describe(`proof: document strategies under chaos (RabbitMQ and Postgres), part ${part} of ${PROOF_PARTS}`, () => {
    const iso = useIsolation('strategies proof');
    const cleanups: (() => Promise<unknown>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    });

    STRATEGIES.forEach((strategy, index) => {
      if (index % PROOF_PARTS !== part - 1) return;
      describe(strategy.name, () => {
        for (const seed of SEEDS) {
          it(`seed ${seed}: every order and bill exactly right, every ItemAdded sent once, none for an uncommitted change`, async () => {
            const pool = iso().pool();
            const tag = `s${index}_${seed}`;
            const documents = new PgDocumentStore<object>(pool, {
              table: `documents_${tag}`,
            });
            await documents.install();
            await pool.query(`create table if not exists inbox_${tag} (
            endpoint text not null, message_id text not null,
            processed_at timestamptz not null default now(), primary key (endpoint, message_id))`);
            const allDocs = async () =>
              (await pool.query<{ body: object }>(`select body from documents_${tag}`)).rows.map(
                (r) => r.body,
              );
            const setup = await strategy.setup(pool, tag, allDocs);

            const tracer = new ConversationTracer();
            const transport: Transport = tracer.wrap(
              await connectTransport({
                url: iso().amqpUrl,
                prefix: `${iso().prefix}.${tag}.`,
                onDeclare: (name) => iso().track(name),
              }),
            );
            cleanups.push(() => transport.close());

            const frontendChaos = new Chaos({ seed });
            frontendChaos.add({ kind: 'duplicate', rate: 0.3 });
            frontendChaos.add({ kind: 'delay', delayMs: 5, rate: 0.1 });
            const chaos = new Chaos({ seed: seed + 1 });
            // First, so that no other rule of the step wins: an order whose every commit fails. It
            // ends in the error queue, and nothing it would have caused may appear (a ghost).
            chaos.add({
              kind: 'fail-commit',
              step: 'commit',
              field: { path: 'orderId', equals: 'doomed' },
            });
            chaos.add({ kind: 'drop-then-redeliver', rate: 0.05 });
            chaos.add({ kind: 'duplicate', messageType: 'ItemAdded', rate: 0.2 });
            chaos.add({ kind: 'fail-commit', rate: 0.05 });
            chaos.add({ kind: 'timeout', delayMs: 5, rate: 0.05 });
            chaos.add({ kind: 'fail-commit', step: 'dispatch', rate: 0.05 });
            for (const step of STEPS) chaos.add({ kind: 'crash', step, rate: 0.02 });
            for (const step of WRITES) chaos.add({ kind: 'timeout', step, delayMs: 5, rate: 0.02 });

            const recoverability = {
              immediateRetries: 5,
              delayedRetriesMs: [10, 20, 50, 100, 200, 300, 400, 500],
            };
            const common = <S extends object>(partition: string, initial: () => S) => ({
              store: documents as unknown as PgDocumentStore<S>,
              locate: (m: Envelope) => ({ partition, id: (m.body as { orderId: string }).orderId }),
              initial,
              steps: chaos,
            });

            const ordersName = `orders_${tag}`;
            const orders = new Endpoint({
              name: ordersName,
              transport: chaos.wrap(transport),
              concurrency: 8,
              recoverability,
              incoming: [chaos.incoming],
            });
            setup
              .make<Order>(
                common('orders', () => ({ lines: [] })),
                ordersName,
              )
              .use(orders)
              .handle(AddItem, async (m, ctx) => {
                entity<Order>(ctx).state.lines.push({ messageId: m.id, filling: m.body.filling });
                await ctx.publish(ItemAdded, m.body);
              });

            // Every copy of ItemAdded billing receives, before any deduplication.
            const received = new Map<string, string | undefined>();
            const billing = new Endpoint({
              name: `billing_${tag}`,
              transport,
              concurrency: 8,
              recoverability,
              incoming: [
                async (ctx, next) => {
                  received.set(ctx.message.id, ctx.message.headers.causationId);
                  await next();
                },
                chaos.incoming,
              ],
            });
            setup
              .make<Bill>(
                common('billing', () => ({ items: 0 })),
                `billing_${tag}`,
              )
              .use(billing)
              .handle(ItemAdded, async (_m, ctx) => {
                entity<Bill>(ctx).state.items++;
              });

            const frontend = new Endpoint({
              name: `frontend_${tag}`,
              transport: frontendChaos.wrap(transport),
              outgoing: setup.frontend,
            });
            for (const e of [orders, billing, frontend])
              cleanups.push(() => e.stop({ drain: false }));
            await orders.start();
            await billing.start();

            const sent: Envelope<{ orderId: string; filling: string }>[] = [];
            for (let i = 0; i < ORDERS; i++) {
              const body = { orderId: `order-${i % 40}`, filling: FILLINGS[i % 5] as string };
              sent.push(await frontend.send(AddItem, body, { to: ordersName }));
            }
            const doomed = await frontend.send(
              AddItem,
              { orderId: 'doomed', filling: 'Meat' },
              { to: ordersName },
            );
            const settled = await Promise.all(
              [...sent, doomed].map((m) =>
                tracer.waitUntilSettled(m.headers.conversationId, { timeoutMs: 60_000 }),
              ),
            );
            expect(
              [...received.values()].filter((cause) => cause === doomed.id),
              'an ItemAdded for the AddItem that was never stored (a ghost)',
            ).toEqual([]);
            // (The frontend's chaos may have sent the doomed one twice: both copies fail.)
            expect([...new Set(settled.flatMap((s) => s.failed.map((f) => f.messageId)))]).toEqual([
              doomed.id,
            ]);
            const doomedOrder = (await documents.load('orders', 'doomed')).value as
              | Order
              | undefined;
            expect(doomedOrder?.lines ?? []).toEqual([]);

            // Every order holds exactly the lines sent to it; every bill counts exactly those.
            for (let o = 0; o < 40; o++) {
              const orderId = `order-${o}`;
              const expected = sent.filter((m) => m.body.orderId === orderId);
              const order = (await documents.load('orders', orderId)).value as Order;
              expect(order.lines.map((l) => l.messageId).sort()).toEqual(
                expected.map((m) => m.id).sort(),
              );
              const bill = (await documents.load('billing', orderId)).value as Bill;
              expect(bill.items, `items billed for ${orderId}`).toBe(expected.length);
            }
            // One ItemAdded per AddItem (copies share an id), each caused by a stored AddItem.
            const applied = new Set(sent.map((m) => m.id));
            const causes = [...received.values()];
            expect(received.size).toBe(ORDERS);
            expect(new Set(causes).size).toBe(ORDERS);
            expect(causes.every((id) => id !== undefined && applied.has(id))).toBe(true);
            // Nothing left behind that should have gone.
            const leftovers = await setup.leftovers({ id: doomed.id, to: ordersName });
            expect(leftovers).toEqual(
              Object.fromEntries(Object.keys(leftovers).map((k) => [k, 0])),
            );
            expect(chaos.injections.length).toBeGreaterThan(20);
            const kinds = new Set(
              [...frontendChaos.injections, ...chaos.injections].map(
                (i) => i.kind + (i.step ? `@${i.step}` : ''),
              ),
            );
            console.log(
              `${strategy.name}, seed ${seed}: ${chaos.injections.length + frontendChaos.injections.length} injections (${[...kinds].join(', ')})`,
            );
          });
        }
      });
    });
  });
}

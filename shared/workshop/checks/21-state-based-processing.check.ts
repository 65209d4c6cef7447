import path from 'node:path';
import {
  ConversationTracer,
  defineCommand,
  Endpoint,
  type Envelope,
  type EventType,
  entity,
  MemoryDocumentStore,
  MemoryTransport,
  metadataOf,
  SimulatedCrash,
  StateBased,
  type StateMetadata,
} from '@pierogi/shared';
import { AddItem, SubmitOrder } from '@pierogi/shop';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ROOT } from '../src/exercises.ts';
import { fileToOpen, sendAndSettle, useShop } from './harness.ts';

const COUPONS = fileToOpen('src/coupons.ts');
const DEDUPLICATION = fileToOpen('src/deduplication.ts');

/** A coupon, whatever else it holds: the check compares them whole. */
interface Coupon {
  readonly code: string;
  readonly percent: number;
}
interface CouponsModule {
  couponFor(message: Envelope<{ orderId: string }>): Coupon | undefined;
  CouponGranted: EventType;
}

async function exerciseCoupons(): Promise<CouponsModule> {
  return (await import(path.join(ROOT, COUPONS))) as CouponsModule;
}

/** A SubmitOrder as orders receives it. */
function submitOrder(
  n: number,
  sentAt = '2026-01-01T12:00:00.000Z',
): Envelope<{ orderId: string }> {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    type: 'SubmitOrder',
    body: { orderId: `order-${n}` },
    headers: {
      conversationId: `c-${n}`,
      causationId: undefined,
      sendingEndpoint: 'frontend',
      sentAt,
      deliveryCount: 1,
      custom: {},
    },
  };
}

/** Where the coupons of two draws first differ (and how many differ), or undefined. */
function firstDifference(
  messages: readonly Envelope<{ orderId: string }>[],
  first: readonly (Coupon | undefined)[],
  again: readonly (Coupon | undefined)[],
  againWhen: string,
): string | undefined {
  const differ = messages.filter(
    (_, n) => JSON.stringify(first[n] ?? null) !== JSON.stringify(again[n] ?? null),
  );
  const m = differ[0];
  if (!m) return undefined;
  const n = messages.indexOf(m);
  const show = (c: Coupon | undefined) => (c ? JSON.stringify(c) : 'no coupon');
  return `SubmitOrder ${m.id} (${m.body.orderId}): first ${show(first[n])}, ${againWhen} ${show(again[n])}${differ.length > 1 ? ` (and ${differ.length - 1} more of the ${messages.length} differ)` : ''}`;
}

const TWO_DAYS_MS = 2 * 24 * 60 * 60 * 1000;

describe('21 state-based processing', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  it('the coupon of a SubmitOrder is the same every time it is drawn for that message', async () => {
    const { couponFor } = await exerciseCoupons();
    const messages = Array.from({ length: 50 }, (_, n) => submitOrder(n));
    const first = messages.map((m) => couponFor(m));
    const again = messages.map((m) => couponFor(structuredClone(m)));
    const drawnAgain = firstDifference(messages, first, again, 'drawn again');
    expect(
      drawnAgain,
      `couponFor drew another coupon for the same SubmitOrder (a copy, or a retry, gets another coupon): it must draw from the message, not from Math.random(), randomUUID() or Date.now(). Open ${COUPONS}\n  ${drawnAgain}`,
    ).toBeUndefined();
    // The frontend sends a SubmitOrder again when the customer's request is retried: the same
    // message id, sent a second time — with another sentAt.
    const resent = messages.map((_, n) => couponFor(submitOrder(n, '2026-01-01T12:00:03.250Z')));
    const sentAgain = firstDifference(messages, first, resent, 'sent again 3 seconds later');
    expect(
      sentAgain,
      `couponFor drew another coupon for the same SubmitOrder sent again by the frontend 3 seconds later (same message id, another headers.sentAt): sentAt is when this copy was sent, not a property of the order. Open ${COUPONS}\n  ${sentAgain}`,
    ).toBeUndefined();
    // A redelivery can come days later (a message sent back from the error queue): the clock
    // moves two days ahead, and the coupons are drawn again.
    vi.useFakeTimers({ toFake: ['Date'] });
    let later: (Coupon | undefined)[];
    try {
      vi.setSystemTime(new Date(Date.now() + TWO_DAYS_MS));
      later = messages.map((m) => couponFor(structuredClone(m)));
    } finally {
      vi.useRealTimers();
    }
    const twoDaysLater = firstDifference(messages, first, later, 'with the clock two days ahead');
    expect(
      twoDaysLater,
      `couponFor drew another coupon for the same SubmitOrder when the clock said two days later (a redelivery, or a message sent back from the error queue, can come days later): it reads the clock — Date.now() or new Date(), even rounded to the day. Open ${COUPONS}\n  ${twoDaysLater}`,
    ).toBeUndefined();
    expect(
      first.filter((c) => c !== undefined).length,
      'coupons granted to 50 orders (about one in five)',
    ).toBeGreaterThan(0);
    // Each number of a draw is a number of its own: the percent does not follow from whether a
    // coupon was granted. 400 SubmitOrders grant about 80 coupons, of 5–20 %.
    const many = Array.from({ length: 400 }, (_, n) => couponFor(submitOrder(1_000 + n)));
    const percents = [...new Set(many.flatMap((c) => (c ? [c.percent] : [])))].sort(
      (a, b) => a - b,
    );
    expect(
      percents.length,
      `the discounts granted to 400 SubmitOrders are only ${percents.join(', ')} %: the numbers of one draw are not independent — is each drawn from a new randomFromMessage(message.id, 'coupon'), so that every one is its first number (the one that decided the coupon was granted, below 0.2)? Draw them all from one. Open ${COUPONS}`,
    ).toBeGreaterThan(8);
  });

  it('on state-based deduplication, a SubmitOrder whose first run crashed after the commit sends its coupon once, the same', async () => {
    const { couponFor, CouponGranted } = await exerciseCoupons();
    const documents = new MemoryDocumentStore<{ submitted: boolean }>();
    const tracer = new ConversationTracer();
    const transport = tracer.wrap(new MemoryTransport());
    const Submit = defineCommand('SubmitOrder', z.object({ orderId: z.string() }));
    const crashedOnce = new Set<string>();
    const errorNames = new Map<string, string>();
    const orders = new Endpoint({
      name: 'orders',
      transport,
      recoverability: { immediateRetries: 1, delayedRetriesMs: [] },
      incoming: [
        // Outermost: which error each message's last attempt threw (the error queue keeps its message).
        async (ctx, next) => {
          try {
            await next();
          } catch (error) {
            errorNames.set(ctx.message.id, error instanceof Error ? error.name : typeof error);
            throw error;
          }
        },
      ],
    });
    new StateBased<{ submitted: boolean }>({
      store: documents,
      locate: (m) => ({ partition: 'orders', id: (m.body as { orderId: string }).orderId }),
      initial: () => ({ submitted: false }),
      // The first dispatch of each SubmitOrder crashes: its state is stored, its coupon not sent;
      // the retry finds the SubmitOrder applied, and runs the handler again on the state it found.
      steps: {
        around: async (step, message, work) => {
          if (step !== 'dispatch' || crashedOnce.has(message.id ?? '')) return work();
          crashedOnce.add(message.id ?? '');
          throw new SimulatedCrash(`crash before the coupon of ${message.id} is sent`);
        },
      },
    })
      .use(orders)
      .handle(Submit, async (m, ctx) => {
        entity<{ submitted: boolean }>(ctx).state.submitted = true;
        const coupon = couponFor(m);
        if (coupon) await ctx.publish(CouponGranted, { orderId: m.body.orderId, ...coupon });
      });
    const received: Envelope[] = [];
    const customers = new Endpoint({ name: 'customers', transport }).handle(
      CouponGranted,
      async (m) => {
        received.push(m);
      },
    );
    const frontend = new Endpoint({ name: 'frontend', transport });
    stops.push(
      () => orders.stop({ drain: false }),
      () => customers.stop({ drain: false }),
    );
    await orders.start();
    await customers.start();
    const failures: string[] = [];
    for (let n = 0; n < 40; n++) {
      const sent = await frontend.send(Submit, { orderId: `order-${n}` }, { to: 'orders' });
      const settled = await tracer.waitUntilSettled(sent.headers.conversationId, {
        timeoutMs: 5_000,
      });
      failures.push(
        ...settled.failed.map((f) => `${errorNames.get(f.messageId) ?? 'Error'}: ${f.reason}`),
      );
    }
    expect(
      crashedOnce.size,
      'SubmitOrders whose first dispatch (of a coupon) crashed',
    ).toBeGreaterThan(0);
    expect(
      failures.slice(0, 2),
      `SubmitOrders that ended in the error queue, each with its error (a NonDeterministicHandlerError: StateBased ran the handler again on the state the first run found, and it sent another coupon than the first run did). Open ${COUPONS}`,
    ).toEqual([]);
    const byOrder = new Map<string, number>();
    for (const m of received) {
      const { orderId } = m.body as { orderId: string };
      byOrder.set(orderId, (byOrder.get(orderId) ?? 0) + 1);
    }
    expect(
      [...byOrder.values()].every((n) => n === 1),
      'one coupon per order at most',
    ).toBe(true);
    expect(received.length, 'coupons granted to 40 orders').toBeGreaterThan(0);
  });

  describe('the shop (pnpm exercise 21), on its servers', () => {
    const shop = useShop();

    it('runs on state snapshots: the order remembers the messages applied to it, and no outbox or inbox is kept', async () => {
      const orderId = 'snapshots';
      const added = await shop().endpoints.frontend.send(AddItem, { orderId, filling: 'Meat' });
      await shop().tracer.waitUntilSettled(added.headers.conversationId, { timeoutMs: 15_000 });
      await sendAndSettle(shop(), (f) => f.send(SubmitOrder, { orderId }));
      const { value: order } = await shop().orders.load(orderId);
      const { value: bill } = await shop().bills.load(orderId);
      expect({ submitted: order?.submitted, invoices: bill?.invoices }).toEqual({
        submitted: true,
        invoices: 1,
      });
      const history = metadataOf<StateMetadata<object>>(order)?.history ?? [];
      expect(
        history.map((h) => h.messageId)[0],
        `the order's document does not remember the messages applied to it with the state each found: the shop is not on state-based deduplication. Open ${DEDUPLICATION}`,
      ).toBe(added.id);
      const { rows } = await shop().pool.query<{ outbox: string | null; inbox: string | null }>(
        `select to_regclass('outbox_records')::text as outbox, to_regclass('inbox')::text as inbox`,
      );
      expect(rows[0], `an outbox or an inbox table. Open ${DEDUPLICATION}`).toEqual({
        outbox: null,
        inbox: null,
      });
    });
  });
});

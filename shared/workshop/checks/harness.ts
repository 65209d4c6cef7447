import path from 'node:path';
import type { ChaosRule, MessageSession } from '@pierogi/shared';
import { type Isolation, isolate } from '@pierogi/shared/testing';
import {
  AddItem,
  type Filling,
  loadShopCode,
  type RunningShop,
  runShop,
  type ShopStep,
} from '@pierogi/shop';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { ROOT } from '../src/exercises.ts';
import { codeUnderCheck } from './codeUnderCheck.ts';

/** Retries in checks: 3 attempts a delivery, 3 delayed retries (100 ms, 500 ms, 2 s). */
const CHECK_RECOVERABILITY = { immediateRetries: 2, delayedRetriesMs: [100, 500, 2_000] };

export { codeUnderCheck, fileToOpen } from './codeUnderCheck.ts';

/**
 * Starts a shop with the shop code under check for this check file, on real RabbitMQ and Postgres
 * under names of its own, and stops it afterwards.
 */
export function useShop(options: { chaosSeed?: number; http?: boolean } = {}): () => RunningShop {
  let shop: RunningShop | undefined;
  let iso: Isolation | undefined;
  beforeAll(async () => {
    iso = await isolate({
      label: 'check',
      amqpUrl: inject('amqpUrl'),
      databaseUrl: inject('databaseUrl'),
    });
    shop = await runShop({
      code: await loadShopCode(path.join(ROOT, codeUnderCheck())),
      amqpUrl: iso.amqpUrl,
      databaseUrl: iso.databaseUrl,
      schema: iso.schema,
      prefix: `${iso.prefix}`,
      onDeclare: (name) => iso?.track(name),
      chaosSeed: options.chaosSeed ?? 7,
      // Fewer, shorter retries than the shop's own: a check whose message must end in the error
      // queue gets there in about three seconds.
      recoverability: CHECK_RECOVERABILITY,
      ...(options.http ? { port: 0 } : {}),
    });
  });
  afterAll(async () => {
    await shop?.close();
    await iso?.cleanup();
  });
  return () => {
    if (!shop) throw new Error('the shop is not running: use it inside a test');
    return shop;
  };
}

/**
 * Sends a command as the frontend would and waits until everything it caused has been handled
 * (or failed for good), on every endpoint — no sleeping, and a readable error if it never ends.
 */
export async function sendAndSettle(
  shop: RunningShop,
  send: (frontend: MessageSession) => Promise<{ headers: { conversationId: string } }>,
): Promise<void> {
  const message = await send(shop.endpoints.frontend);
  await shop.tracer.waitUntilSettled(message.headers.conversationId, { timeoutMs: 15_000 });
}

/** A request to the running shop's API, as the browser makes it; the parsed JSON answer. */
export async function request(
  shop: RunningShop,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${shop.url}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Waits until everything the accepted request caused has been handled, on every endpoint. */
export async function settle(shop: RunningShop, answer: { body: Record<string, unknown> }) {
  const conversationId = answer.body.conversationId;
  if (typeof conversationId !== 'string') {
    throw new Error(`the API did not accept the request: ${JSON.stringify(answer.body)}`);
  }
  await shop.tracer.waitUntilSettled(conversationId, { timeoutMs: 15_000 });
}

/**
 * Fails unless the chaos rule `ruleId` (the id `chaos.add` returned) struck at least once: a
 * check whose chaos never happened proves nothing (a renamed step would make it pass silently).
 */
export function expectStruck(shop: RunningShop, ruleId: string): void {
  const entry = shop.chaos.rules().find((r) => r.id === ruleId);
  if (!entry) throw new Error(`there is no chaos rule ${ruleId}`);
  if (entry.injected === 0) {
    throw new Error(
      `the chaos rule ${ruleId} (${JSON.stringify(entry.rule)}) never struck: this check proved nothing. Is the step or message type still named so?`,
    );
  }
}

/** How many orders marketing has counted as starting with `filling` (its `first-items` document). */
export async function firstItemCount(
  shop: RunningShop,
  filling: Filling = 'Meat',
): Promise<number> {
  const { value } = await shop.marketing.load('first-items');
  return value?.counts[filling] ?? 0;
}

/**
 * The order holds one Meat, billed once, and marketing counted one more order starting with Meat
 * than `before`; otherwise the check fails saying `why`, and which file to open.
 */
export async function expectOneMeat(
  shop: RunningShop,
  scene: { orderId: string; before: number; why: string; open: string },
): Promise<void> {
  const { orderId, before, why, open } = scene;
  const { value: order } = await shop.orders.load(orderId);
  const { value: bill } = await shop.bills.load(orderId);
  expect(
    order?.lines,
    `the order has ${JSON.stringify(order?.lines)} instead of one Meat: ${why}. Open ${open}`,
  ).toEqual(['Meat']);
  expect(
    { total: bill?.total ?? 0, items: bill?.items ?? 0 },
    `billing charged ${bill?.items ?? 0} item(s) for one Meat: ${why}. Open ${open}`,
  ).toEqual({ total: 1_200, items: 1 });
  const counted = (await firstItemCount(shop)) - before;
  expect(
    counted,
    `marketing counted ${counted} order(s) starting with Meat instead of 1: ${why}. Open ${open}`,
  ).toBe(1);
}

/**
 * One scene of the outbox checks: with the chaos rule `chaos` on, one Meat is added to a new
 * order; the rule must strike, and the order must end with one Meat, billed once, counted once.
 */
export async function oneMeatDespite(
  shop: RunningShop,
  scene: { chaos: ChaosRule<ShopStep>; orderId: string; why: string; open: string },
): Promise<void> {
  const { chaos, orderId, why, open } = scene;
  const rule = shop.chaos.add(chaos);
  const before = await firstItemCount(shop);
  await sendAndSettle(shop, (f) => f.send(AddItem, { orderId, filling: 'Meat' }));
  expectStruck(shop, rule);
  await expectOneMeat(shop, { orderId, before, why, open });
}

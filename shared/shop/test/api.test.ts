import { Chaos, Endpoint, MemoryDocumentStore, MemoryTransport } from '@pierogi/shared';
import { Recorder } from '@pierogi/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { AddItem, RemoveItem, SubmitOrder } from '../src/contracts.ts';
import { type Bill, Entities, type Order } from '../src/entities.ts';
import { createFrontend } from '../src/frontend/http.ts';
import { LiveLog } from '../src/liveLog.ts';
import { SHOP_STEPS, type ShopStep } from '../src/steps.ts';

/** The API's chaos panel and its refusals, on the in-memory transport (http.test.ts: the rest). */
describe('frontend API: chaos panel and 409', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function api(options: { handled?: (type: string) => boolean } = {}) {
    const routes = { AddItem: 'orders', RemoveItem: 'orders', SubmitOrder: 'orders' };
    const chaos = new Chaos<ShopStep>({ seed: 1, steps: SHOP_STEPS });
    const transport = chaos.wrap(new MemoryTransport());
    const frontend = new Endpoint({ name: 'frontend', transport, routes });
    const received = new Recorder<{ type: string; id: string; body: unknown }>();
    const orders = new Endpoint({ name: 'orders', transport });
    for (const type of [AddItem, RemoveItem, SubmitOrder]) {
      orders.handle(type, async (m) => received.push({ type: m.type, id: m.id, body: m.body }));
    }
    await orders.start();
    const store = new MemoryDocumentStore<never>();
    const app = createFrontend({
      frontend,
      orders: new Entities<Order>(store as MemoryDocumentStore<Order>, 'orders'),
      bills: new Entities<Bill>(store as MemoryDocumentStore<Bill>, 'bills'),
      log: new LiveLog(),
      chaos,
      ...options,
    });
    stops.push(
      () => app.close(),
      () => orders.stop(),
    );
    const call = async (
      method: 'GET' | 'POST' | 'DELETE',
      url: string,
      payload?: string | object,
      headers: Record<string, string> = {},
    ) => {
      const response = await app.inject({
        method,
        url,
        ...(payload === undefined ? {} : { payload }),
        headers: {
          ...(payload !== undefined && typeof payload === 'object'
            ? { 'content-type': 'application/json' }
            : {}),
          ...headers,
        },
      });
      const json = response.headers['content-type']?.toString().includes('json')
        ? (response.json() as Record<string, unknown>)
        : {};
      return { status: response.statusCode, json, body: response.body };
    };
    return { call, received, chaos };
  }

  it('removing where orders cannot: 409 instead of a command nobody handles', async () => {
    const { call, received } = await api({ handled: (type) => type !== 'RemoveItem' });
    const answer = await call('DELETE', '/api/orders/o-1/items/Meat');
    expect(answer.status).toBe(409);
    expect(answer.json.message).toMatch(/cannot remove items/);
    expect(received.items).toEqual([]);
  });

  describe('the chaos panel', () => {
    it('switches a rule on while the shop runs: every AddItem is sent twice, with one id', async () => {
      const { call, received } = await api();
      const added = await call('POST', '/api/chaos', { kind: 'duplicate', messageType: 'AddItem' });
      expect(added.status).toBe(201);
      const answer = await call('POST', '/api/orders/o-1/items', { filling: 'Meat' });
      const copies = await received.waitForCount(2, 'both copies');
      expect(copies.map((m) => m.id)).toEqual([answer.json.messageId, answer.json.messageId]);
      const rules = await call('GET', '/api/chaos');
      expect(rules.json.rules).toEqual([
        {
          id: added.json.id,
          injected: 1,
          rule: { kind: 'duplicate', rate: 1, messageType: 'AddItem' },
        },
      ]);
    });

    it('a filling and a failing store become the rule the chaos monkey understands', async () => {
      const { call, chaos } = await api();
      await call('POST', '/api/chaos', { kind: 'fail-commit', filling: 'Strawberry', rate: 0.5 });
      await call('POST', '/api/chaos', { kind: 'delay', messageType: 'ItemAdded', delayMs: 50 });
      expect(chaos.rules().map((r) => r.rule)).toEqual([
        {
          kind: 'fail-commit',
          rate: 0.5,
          field: { path: 'filling', equals: 'Strawberry' },
          step: 'orders.save',
        },
        { kind: 'delay', rate: 1, messageType: 'ItemAdded', delayMs: 50 },
      ]);
    });

    it('a failed commit can hit billing or marketing too', async () => {
      const { call, chaos } = await api();
      await call('POST', '/api/chaos', { kind: 'fail-commit', store: 'marketing' });
      await call('POST', '/api/chaos', { kind: 'fail-commit', store: 'bills' });
      await call('POST', '/api/chaos', { kind: 'fail-commit', store: 'commit' });
      expect(chaos.rules().map((r) => r.rule.step)).toEqual([
        'marketing.save',
        'bills.save',
        'commit',
      ]);
      const wrong = await call('POST', '/api/chaos', { kind: 'fail-commit', store: 'payments' });
      expect(wrong.status).toBe(400);
      expect(wrong.json.message).toMatch(/store must be one of orders, bills, marketing, commit/);
    });

    it('a rule may name any step of the shop; an unknown step is a 400 that lists them', async () => {
      const { call, chaos } = await api();
      const ok = await call('POST', '/api/chaos', { kind: 'fail-commit', step: 'mark-inbox' });
      expect(ok.status).toBe(201);
      await call('POST', '/api/chaos', { kind: 'delay', step: 'orders.load', delayMs: 20 });
      expect(chaos.rules().map((r) => r.rule.step)).toEqual(['mark-inbox', 'orders.load']);
      const wrong = await call('POST', '/api/chaos', { kind: 'fail-commit', step: 'order.save' });
      expect(wrong.status).toBe(400);
      expect(wrong.json.message).toMatch(
        /there is no step "order\.save"; the steps are handler, ack, orders\.load, orders\.save/,
      );
      expect(chaos.rules()).toHaveLength(2);
      const listed = await call('GET', '/api/chaos');
      expect(listed.json.steps).toContain('dispatch');
    });

    it('every kind the library has: a timeout and a crash at a store, a lost message', async () => {
      const { call, chaos } = await api();
      for (const rule of [
        { kind: 'timeout', store: 'bills', delayMs: 20 },
        { kind: 'crash', store: 'commit' },
        { kind: 'drop-then-redeliver', messageType: 'AddItem' },
      ]) {
        expect((await call('POST', '/api/chaos', rule)).status).toBe(201);
      }
      expect(chaos.rules().map((r) => r.rule)).toEqual([
        { kind: 'timeout', rate: 1, delayMs: 20, step: 'bills.save' },
        { kind: 'crash', rate: 1, step: 'commit' },
        { kind: 'drop-then-redeliver', rate: 1, messageType: 'AddItem' },
      ]);
    });

    it('heals one rule, or every rule', async () => {
      const { call } = await api();
      const first = await call('POST', '/api/chaos', { kind: 'duplicate' });
      await call('POST', '/api/chaos', { kind: 'fail-publish' });
      expect((await call('DELETE', `/api/chaos/${first.json.id}`)).status).toBe(204);
      expect(((await call('GET', '/api/chaos')).json.rules as unknown[]).length).toBe(1);
      expect((await call('DELETE', '/api/chaos')).status).toBe(204);
      expect((await call('GET', '/api/chaos')).json.rules).toEqual([]);
      const missing = await call('DELETE', '/api/chaos/rule-99');
      expect(missing.status).toBe(404);
      expect(missing.json.message).toMatch(/no chaos rule rule-99/);
    });

    it.each([
      [
        { kind: 'explode' },
        /kind must be one of duplicate, delay, fail-publish, fail-commit, timeout, crash, drop-then-redeliver/,
      ],
      [{ kind: 'duplicate', rate: 2 }, /rate must be at most 1/],
      [{ kind: 'duplicate', messageType: 'Pizza' }, /messageType must be one of/],
      [{ kind: 'duplicate', filling: 'Pizza' }, /unknown filling "Pizza"/],
      [{ kind: 'duplicate', surprise: true }, /surprise/],
      [
        { kind: 'duplicate', store: 'bills' },
        /store applies to fail-commit, timeout, crash, not to duplicate/,
      ],
      [{ kind: 'fail-commit', store: 'bills', step: 'commit' }, /give store or step, not both/],
      [{ kind: 'fail-publish', step: 'dispatch' }, /step applies to .* not to fail-publish/],
    ])('a rule it cannot take: 400 saying why (%j)', async (rule, message) => {
      const { call, chaos } = await api();
      const answer = await call('POST', '/api/chaos', rule);
      expect(answer.status).toBe(400);
      expect(answer.json.message).toMatch(message);
      expect(chaos.rules()).toEqual([]);
    });
  });
});

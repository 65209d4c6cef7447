import { Chaos, Endpoint, MemoryDocumentStore, MemoryTransport } from '@pierogi/shared';
import { Recorder } from '@pierogi/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { AddItem, FILLINGS, RemoveItem, SubmitOrder } from '../src/contracts.ts';
import { type Bill, Entities, type Order } from '../src/entities.ts';
import { createFrontend, MAX_BODY_BYTES } from '../src/frontend/http.ts';
import { LiveLog } from '../src/liveLog.ts';

/** The shop's HTTP API on the in-memory transport: what a client gets for good and bad requests. */
describe('frontend API', () => {
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  async function api(options: { handled?: (type: string) => boolean } = {}) {
    const transport = new MemoryTransport();
    const routes = { AddItem: 'orders', RemoveItem: 'orders', SubmitOrder: 'orders' };
    const chaos = new Chaos({ seed: 1 });
    const frontend = new Endpoint({
      name: 'frontend',
      transport,
      routes,
      outgoing: [chaos.outgoing],
    });
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

  it('accepts an item: 202 with the ids of the AddItem it sent', async () => {
    const { call, received } = await api();
    const answer = await call('POST', '/api/orders/o-1/items', { filling: 'Meat' });
    expect(answer.status).toBe(202);
    const [sent] = await received.waitForCount(1, 'the AddItem');
    expect(sent).toEqual({
      type: 'AddItem',
      id: answer.json.messageId,
      body: { orderId: 'o-1', filling: 'Meat' },
    });
    expect(typeof answer.json.conversationId).toBe('string');
  });

  it('removing and submitting send RemoveItem and SubmitOrder', async () => {
    const { call, received } = await api();
    expect((await call('DELETE', '/api/orders/o-1/items/Mushrooms')).status).toBe(202);
    expect((await call('POST', '/api/orders/o-1/submit')).status).toBe(202);
    const sent = await received.waitForCount(2, 'RemoveItem and SubmitOrder');
    expect(sent.map((m) => m.type).sort()).toEqual(['RemoveItem', 'SubmitOrder']);
  });

  it.each([
    ['malformed JSON', '{"filling":', /not valid JSON/],
    ['an empty JSON body', '', /not valid JSON|empty/i],
  ])('%s: 400 that says the body is not JSON', async (_what, payload, message) => {
    const { call } = await api();
    const answer = await call('POST', '/api/orders/o-1/items', payload, {
      'content-type': 'application/json',
    });
    expect(answer.status).toBe(400);
    expect(answer.json.message).toMatch(message);
  });

  it.each([
    ['a number', { filling: 5 }],
    ['a missing filling', {}],
    ['an unknown filling', { filling: 'Pizza' }],
  ])('%s: 400 naming the filling and listing the valid ones', async (_what, body) => {
    const { call, received } = await api();
    const answer = await call('POST', '/api/orders/o-1/items', body);
    expect(answer.status).toBe(400);
    expect(answer.json.message).toMatch(/filling/);
    for (const filling of FILLINGS) expect(answer.json.message).toContain(filling);
    expect(received.items).toEqual([]);
  });

  it('a body that is not an object: 400 saying what to send', async () => {
    const { call } = await api();
    const answer = await call('POST', '/api/orders/o-1/items', [1, 2]);
    expect(answer.status).toBe(400);
    expect(answer.json.message).toMatch(/JSON object like \{"filling": "Meat"\}/);
  });

  it.each([
    ['too long', 'x'.repeat(65)],
    ['with markup', encodeURIComponent('<b>x</b>')],
  ])('an order id %s: 400 naming orderId', async (_what, orderId) => {
    const { call } = await api();
    const answer = await call('POST', `/api/orders/${orderId}/items`, { filling: 'Meat' });
    expect(answer.status).toBe(400);
    expect(answer.json.message).toMatch(/orderId must be 1–64 letters/);
  });

  it('a bad idempotency-key: 400 naming it', async () => {
    const { call } = await api();
    const answer = await call(
      'POST',
      '/api/orders/o-1/items',
      { filling: 'Meat' },
      {
        'idempotency-key': 'not ok!',
      },
    );
    expect(answer.status).toBe(400);
    expect(answer.json.message).toMatch(/idempotency-key/);
  });

  it(`a body over ${MAX_BODY_BYTES} bytes: 413`, async () => {
    const { call } = await api();
    const answer = await call('POST', '/api/orders/o-1/items', {
      filling: 'x'.repeat(MAX_BODY_BYTES),
    });
    expect(answer.status).toBe(413);
    expect(answer.json.message).toMatch(/larger than/);
  });

  it('an unknown route: 404 saying so; an unknown order: 200 with nothing in it', async () => {
    const { call } = await api();
    const missing = await call('GET', '/api/nothing');
    expect(missing.status).toBe(404);
    expect(missing.json.message).toMatch(/not part of the shop's API/);
    const order = await call('GET', '/api/orders/nobody');
    expect(order).toMatchObject({ status: 200, json: { order: null, bill: null } });
  });

  it('removing where orders cannot: 409 instead of a command nobody handles', async () => {
    const { call, received } = await api({ handled: (type) => type !== 'RemoveItem' });
    const answer = await call('DELETE', '/api/orders/o-1/items/Meat');
    expect(answer.status).toBe(409);
    expect(answer.json.message).toMatch(/cannot remove items/);
    expect(received.items).toEqual([]);
  });

  it('the fillings with prices, and the page', async () => {
    const { call } = await api();
    const fillings = await call('GET', '/api/fillings');
    expect((fillings.json.fillings as { name: string }[]).map((f) => f.name)).toEqual(FILLINGS);
    const page = await call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Pierogi shop');
  });

  it('garbage never gets a 500', async () => {
    const { call } = await api();
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const inputs: [string, string | object, Record<string, string>][] = [
      ['/api/orders/o-1/items', deep, { 'content-type': 'application/json' }],
      [
        '/api/orders/o-1/items',
        '\u0000\u00ff\u0001garbage',
        { 'content-type': 'application/json' },
      ],
      ['/api/orders/o-1/items', 'filling=Meat', { 'content-type': 'text/plain' }],
      [`/api/orders/${'a'.repeat(5_000)}/items`, { filling: 'Meat' }, {}],
      ['/api/orders/o-1/submit', { unexpected: true }, {}],
    ];
    for (const [url, payload, headers] of inputs) {
      const answer = await call('POST', url, payload, headers);
      expect(answer.status, `${url} ${String(payload).slice(0, 20)}`).toBeLessThan(500);
      expect(answer.status).toBeGreaterThanOrEqual(200);
    }
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
      [{ kind: 'explode' }, /kind must be one of duplicate, delay, fail-publish, fail-commit/],
      [{ kind: 'duplicate', rate: 2 }, /rate must be at most 1/],
      [{ kind: 'duplicate', messageType: 'Pizza' }, /messageType must be one of/],
      [{ kind: 'duplicate', filling: 'Pizza' }, /unknown filling "Pizza"/],
      [{ kind: 'duplicate', surprise: true }, /surprise/],
    ])('a rule it cannot take: 400 saying why (%j)', async (rule, message) => {
      const { call, chaos } = await api();
      const answer = await call('POST', '/api/chaos', rule);
      expect(answer.status).toBe(400);
      expect(answer.json.message).toMatch(message);
      expect(chaos.rules()).toEqual([]);
    });
  });
});

import { connect } from 'node:net';
import { Endpoint, MemoryDocumentStore, MemoryTransport } from '@pierogi/shared';
import { Recorder } from '@pierogi/shared/testing';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AddItem, FILLINGS, PRICES, RemoveItem, SubmitOrder } from '../src/contracts.ts';
import { type Bill, Entities, type FirstItems, type Order } from '../src/entities.ts';
import { createFrontend, MAX_BODY_BYTES } from '../src/frontend/http.ts';
import { LiveLog } from '../src/liveLog.ts';

/** A command as the `orders` endpoint received it. */
interface Received {
  readonly type: string;
  readonly id: string;
  readonly body: unknown;
}

interface Answer {
  readonly status: number;
  readonly contentType: string;
  /** The parsed JSON answer; `{}` when the answer is not JSON. */
  readonly json: Record<string, unknown>;
  readonly body: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const ITEMS = '/api/orders/o-1/items';
const EVERY_FILLING = new RegExp(FILLINGS.join('.*'));

/**
 * The shop's HTTP API through `app.inject()`: no network, the in-memory broker, and an `orders`
 * endpoint that records the commands the API sends. Every test checks the status and the message
 * the client reads; and no answer in the whole suite may be a 500.
 */
describe('the shop frontend over HTTP', () => {
  let app: FastifyInstance;
  let frontend: Endpoint;
  let ordersEndpoint: Endpoint;
  let orderStore: MemoryDocumentStore<Order>;
  let received: Recorder<Received>;
  /** Every answer of the test, for the "never a 500" check after it. */
  let answers: { request: string; status: number; body: string }[];

  beforeEach(async () => {
    const transport = new MemoryTransport();
    const routes = { AddItem: 'orders', RemoveItem: 'orders', SubmitOrder: 'orders' };
    frontend = new Endpoint({ name: 'frontend', transport, routes });
    received = new Recorder<Received>();
    ordersEndpoint = new Endpoint({ name: 'orders', transport });
    for (const type of [AddItem, RemoveItem, SubmitOrder]) {
      ordersEndpoint.handle(type, async (message) => {
        received.push({ type: message.type, id: message.id, body: message.body });
      });
    }
    await ordersEndpoint.start();
    orderStore = new MemoryDocumentStore<Order>();
    app = createFrontend({
      frontend,
      orders: new Entities(orderStore, 'orders'),
      bills: new Entities(new MemoryDocumentStore<Bill>(), 'bills'),
      log: new LiveLog(),
    });
    answers = [];
  });

  afterEach(async () => {
    await app.close();
    await ordersEndpoint.stop();
    await frontend.stop();
    const failed = answers.filter((a) => a.status >= 500);
    expect(failed, 'answers with a 5xx status').toEqual([]);
  });

  async function call(request: InjectOptions): Promise<Answer> {
    const response = await app.inject(request);
    const contentType = String(response.headers['content-type'] ?? '');
    const json = contentType.includes('json') ? (response.json() as Record<string, unknown>) : {};
    const what = `${request.method} ${String(request.url).slice(0, 60)}`;
    answers.push({ request: what, status: response.statusCode, body: response.body.slice(0, 200) });
    return { status: response.statusCode, contentType, json, body: response.body };
  }

  /** POSTs a JSON text (as given, so it can be broken) to the items of an order. */
  const postItem = (payload: string, url = ITEMS, headers: Record<string, string> = JSON_TYPE) =>
    call({ method: 'POST', url, payload, headers });

  /**
   * Asserts that the refused requests before it sent nothing: a valid request afterwards is the
   * only command `orders` receives (the in-memory queue is first in, first out).
   */
  async function expectNothingElseSent(): Promise<void> {
    const marker = await postItem('{"filling":"Strawberry"}', '/api/orders/marker/items');
    expect(marker.status).toBe(202);
    const items = await received.waitForCount(1, 'the marker AddItem');
    expect(items).toEqual([
      {
        type: 'AddItem',
        id: marker.json.messageId,
        body: { orderId: 'marker', filling: 'Strawberry' },
      },
    ]);
  }

  describe('accepted requests', () => {
    it('adding an item: 202 with the id of the AddItem that orders receives', async () => {
      const answer = await postItem('{"filling":"Meat"}');
      expect(answer.status).toBe(202);
      expect(answer.json).toEqual({
        messageId: expect.any(String),
        conversationId: expect.any(String),
      });
      const [sent] = await received.waitForCount(1, 'the AddItem');
      expect(sent).toEqual({
        type: 'AddItem',
        id: answer.json.messageId,
        body: { orderId: 'o-1', filling: 'Meat' },
      });
    });

    it('a charset in the content-type and a valid idempotency-key are fine', async () => {
      const answer = await postItem('{"filling":"Mushrooms"}', ITEMS, {
        'content-type': 'application/json; charset=utf-8',
        'idempotency-key': 'click-1',
      });
      expect(answer.status).toBe(202);
      const [sent] = await received.waitForCount(1, 'the AddItem');
      expect(sent).toEqual({
        type: 'AddItem',
        id: answer.json.messageId,
        body: { orderId: 'o-1', filling: 'Mushrooms' },
      });
    });

    it('removing an item: 202 and a RemoveItem', async () => {
      const answer = await call({ method: 'DELETE', url: '/api/orders/o-1/items/SwissCheese' });
      expect(answer.status).toBe(202);
      expect(answer.json.messageId).toEqual(expect.any(String));
      const [sent] = await received.waitForCount(1, 'the RemoveItem');
      expect(sent).toEqual({
        type: 'RemoveItem',
        id: answer.json.messageId,
        body: { orderId: 'o-1', filling: 'SwissCheese' },
      });
    });

    it('submitting (no body, no content-type): 202 and a SubmitOrder', async () => {
      const answer = await call({ method: 'POST', url: '/api/orders/o-1/submit' });
      expect(answer.status).toBe(202);
      expect(answer.json.messageId).toEqual(expect.any(String));
      const [sent] = await received.waitForCount(1, 'the SubmitOrder');
      expect(sent).toEqual({
        type: 'SubmitOrder',
        id: answer.json.messageId,
        body: { orderId: 'o-1' },
      });
    });
  });

  describe('bodies that are not JSON', () => {
    it('malformed JSON: 400 saying the body is not valid JSON', async () => {
      const answer = await postItem('{"filling":');
      expect(answer.status).toBe(400);
      expect(answer.json).toEqual({
        error: 'bad request',
        message: expect.stringMatching(
          /^the body is not valid JSON .*send e\.g\. \{"filling": "Meat"\}$/,
        ),
      });
      await expectNothingElseSent();
    });

    it.each([
      ['adding an item', ITEMS],
      ['submitting', '/api/orders/o-1/submit'],
    ])(
      'an empty body labelled JSON, %s: 400 saying to send JSON or no content-type',
      async (_what, url) => {
        const answer = await postItem('', url);
        expect(answer.status).toBe(400);
        expect(answer.json.message).toBe(
          'the body is empty but content-type says JSON; send JSON, e.g. {"filling": "Meat"}, or no content-type and no body',
        );
        await expectNothingElseSent();
      },
    );

    it.each([
      ['text/plain', ITEMS, '{"filling":"Meat"}'],
      ['text/plain', '/api/orders/o-1/submit', 'please submit'],
      ['application/x-www-form-urlencoded', ITEMS, 'filling=Meat'],
      ['application/octet-stream', ITEMS, '{"filling":"Meat"}'],
    ])('content-type %s (%s): 415 saying to send JSON', async (contentType, url, payload) => {
      const answer = await postItem(payload, url, { 'content-type': contentType });
      expect(answer.status).toBe(415);
      expect(answer.json).toEqual({
        error: 'unsupported media type',
        message: 'send the body as JSON, with content-type: application/json',
      });
      await expectNothingElseSent();
    });

    it(`a body over ${MAX_BODY_BYTES} bytes: 413 saying how large a body may be`, async () => {
      const answer = await postItem(
        JSON.stringify({ filling: 'Meat', note: 'x'.repeat(MAX_BODY_BYTES) }),
      );
      expect(answer.status).toBe(413);
      expect(answer.json).toEqual({
        error: 'request too large',
        message: `the body is larger than ${MAX_BODY_BYTES} bytes`,
      });
      await expectNothingElseSent();
    });
  });

  describe('what the API refuses, and says why', () => {
    it.each([
      ['a number of portions', '{"filling":"Meat","quantity":1e308}', /unknown field "quantity"/],
      ['a negative quantity', '{"filling":"Meat","quantity":-5}', /unknown field "quantity"/],
      ['two unknown fields', '{"filling":"Meat","a":1,"b":2}', /unknown fields "a", "b"/],
      ['a key given twice', '{"filling":"Meat","filling":"Strawberry"}', /"filling" appears twice/],
      ['a byte order mark', '\uFEFF{"filling":"Meat"}', /byte order mark/],
    ])('%s: 400 saying what is wrong', async (_what, payload, message) => {
      const answer = await postItem(payload);
      expect(answer.status).toBe(400);
      expect(answer.json.message).toMatch(message);
      await expectNothingElseSent();
    });

    it('a body in UTF-16: 415 saying to send UTF-8', async () => {
      const answer = await postItem('{"filling":"Meat"}', ITEMS, {
        'content-type': 'application/json; charset=utf-16',
      });
      expect(answer.status).toBe(415);
      expect(answer.json.message).toBe('send the body in UTF-8 (charset=utf-8), not utf-16');
      await expectNothingElseSent();
    });

    it('a body with fields to submit: 400 naming them; an empty object is fine', async () => {
      const withFields = await postItem('{"express":true}', '/api/orders/o-1/submit');
      expect(withFields.status).toBe(400);
      expect(withFields.json.message).toMatch(/unknown field "express": submitting takes no body/);
      expect((await postItem('{}', '/api/orders/o-1/submit')).status).toBe(202);
    });

    it('a change to a submitted order: 409; submitting it again is fine (a retry)', async () => {
      await orderStore.save('orders', 'done', { id: 'done', lines: ['Meat'], submitted: true }, 0);
      const add = await postItem('{"filling":"Meat"}', '/api/orders/done/items');
      expect(add.status).toBe(409);
      expect(add.json).toEqual({
        error: 'not possible here',
        message: 'order done is submitted: it takes no more changes',
      });
      const remove = await call({ method: 'DELETE', url: '/api/orders/done/items/Meat' });
      expect(remove.status).toBe(409);
      expect((await postItem('', '/api/orders/done/submit', {})).status).toBe(202);
      await received.waitForCount(1, 'the SubmitOrder');
    });

    it('one idempotency key for two different requests: 422; the same request again is a retry', async () => {
      const key = { ...JSON_TYPE, 'idempotency-key': 'click-7' };
      expect((await postItem('{"filling":"Meat"}', ITEMS, key)).status).toBe(202);
      expect((await postItem('{"filling":"Meat"}', ITEMS, key)).status, 'a retry').toBe(202);
      for (const [payload, url] of [
        ['{"filling":"Strawberry"}', ITEMS],
        ['{"filling":"Meat"}', '/api/orders/o-2/items'],
      ] as const) {
        const other = await postItem(payload, url, key);
        expect(other.status).toBe(422);
        expect(other.json.message).toBe(
          'idempotency-key click-7 was used for another request (POST /api/orders/o-1/items {"filling":"Meat"}); send a new key with a new request',
        );
      }
      const remove = await call({
        method: 'DELETE',
        url: '/api/orders/o-1/items/Meat',
        headers: { 'idempotency-key': 'click-7' },
      });
      expect(remove.status).toBe(422);
      await received.waitForCount(2, 'the AddItem and its retry');
    });

    it('a retry of a change made before the order was submitted is answered as the first, not 409', async () => {
      const key = { ...JSON_TYPE, 'idempotency-key': 'before-submit' };
      expect((await postItem('{"filling":"Meat"}', '/api/orders/late/items', key)).status).toBe(
        202,
      );
      await orderStore.save('orders', 'late', { id: 'late', lines: ['Meat'], submitted: true }, 0);
      // The answer was lost; the client retries, after the order was submitted meanwhile.
      expect((await postItem('{"filling":"Meat"}', '/api/orders/late/items', key)).status).toBe(
        202,
      );
      // The same request with its URL escaped otherwise is the same request.
      expect((await postItem('{"filling":"Meat"}', '/api/orders/%6Cate/items', key)).status).toBe(
        202,
      );
      await received.waitForCount(3, 'the AddItem and its retries');
    });

    it('a body to remove an item: 400 naming the field', async () => {
      const answer = await call({
        method: 'DELETE',
        url: '/api/orders/o-1/items/Meat',
        headers: JSON_TYPE,
        payload: '{"quantity":-5}',
      });
      expect(answer.status).toBe(400);
      expect(answer.json.message).toMatch(
        /unknown field "quantity": removing an item takes no body/,
      );
      await expectNothingElseSent();
    });

    it('the database failing for now: 503 with Retry-After, and the request may be tried again', async () => {
      const dropped = Object.assign(
        new Error('terminating connection due to administrator command'),
        {
          code: '57P01',
        },
      );
      const load = orderStore.load.bind(orderStore);
      orderStore.load = async () => {
        throw dropped;
      };
      // (Through inject, not call(): this 503 is the point, not a failure of the suite's rule.)
      const answer = await app.inject({ method: 'GET', url: '/api/orders/o-1' });
      expect(answer.statusCode).toBe(503);
      expect(answer.headers['retry-after']).toBe('1');
      expect(answer.json().message).toMatch(/cannot serve this right now .*terminating connection/);
      orderStore.load = load;
      expect((await call({ method: 'GET', url: '/api/orders/o-1' })).status).toBe(200);
    });
  });

  describe('JSON of the wrong shape', () => {
    it.each([
      ['a number for the filling', '{"filling": 5}', /^in the body: filling: unknown filling 5;/],
      ['null for the filling', '{"filling": null}', /^in the body: filling: /],
      ['a JSON array', '[{"filling":"Meat"}]', /must be a JSON object like \{"filling": "Meat"\}/],
      ['a JSON string', '"Meat"', /must be a JSON object like \{"filling": "Meat"\}/],
      ['JSON null', 'null', /must be a JSON object like \{"filling": "Meat"\}/],
    ])('%s: 400 naming filling', async (_what, payload, message) => {
      const answer = await postItem(payload);
      expect(answer.status).toBe(400);
      expect(answer.json.error).toBe('bad request');
      expect(answer.json.message).toMatch(message);
      expect(answer.json.message).toContain('filling');
      await expectNothingElseSent();
    });

    it('an unknown filling: 400 listing every filling the shop sells', async () => {
      const answer = await postItem('{"filling":"Pizza"}');
      expect(answer.status).toBe(400);
      expect(answer.json.message).toBe(
        `in the body: filling: unknown filling "Pizza"; the shop sells ${FILLINGS.join(', ')}`,
      );
      await expectNothingElseSent();
    });

    it('an unknown filling to remove: 400 from the URL, listing every filling', async () => {
      const answer = await call({ method: 'DELETE', url: '/api/orders/o-1/items/Pizza' });
      expect(answer.status).toBe(400);
      expect(answer.json.message).toMatch(/^in the URL: filling: unknown filling "Pizza"/);
      expect(answer.json.message).toMatch(EVERY_FILLING);
      await expectNothingElseSent();
    });

    it('no filling: 400 saying it is missing', async () => {
      const answer = await postItem('{}');
      expect(answer.status).toBe(400);
      expect(answer.json.message).toMatch(/^in the body: filling: the filling is missing; /);
      expect(answer.json.message).toMatch(EVERY_FILLING);
      await expectNothingElseSent();
    });

    it('an idempotency-key with odd characters: 400 naming the header', async () => {
      const answer = await postItem('{"filling":"Meat"}', ITEMS, {
        ...JSON_TYPE,
        'idempotency-key': '<b>',
      });
      expect(answer.status).toBe(400);
      expect(answer.json.message).toMatch(/^in the headers: idempotency-key: /);
      await expectNothingElseSent();
    });
  });

  describe('order ids', () => {
    const tooLong = 'a'.repeat(65);
    it.each([
      ['too long', tooLong, tooLong],
      ['with markup', encodeURIComponent('<b>'), '<b>'],
      ['with a space', 'o%201', 'o 1'],
    ])('an orderId %s: 400 naming orderId and quoting it', async (_what, inUrl, decoded) => {
      const message = `in the URL: orderId: orderId must be 1–64 letters, digits, "-" or "_", not ${JSON.stringify(decoded)}`;
      for (const request of [
        {
          method: 'POST',
          url: `/api/orders/${inUrl}/items`,
          payload: '{"filling":"Meat"}',
          headers: JSON_TYPE,
        },
        { method: 'DELETE', url: `/api/orders/${inUrl}/items/Meat` },
        { method: 'POST', url: `/api/orders/${inUrl}/submit` },
        { method: 'GET', url: `/api/orders/${inUrl}` },
      ] satisfies InjectOptions[]) {
        const answer = await call(request);
        expect(answer.status, `${request.method} ${request.url}`).toBe(400);
        expect(answer.json.message).toBe(message);
      }
      await expectNothingElseSent();
    });
  });

  describe('reading', () => {
    it('an unknown route: 404 saying it is not part of the API', async () => {
      const answer = await call({ method: 'GET', url: '/api/nothing-here' });
      expect(answer.status).toBe(404);
      expect(answer.json).toEqual({
        error: 'not found',
        message: "GET /api/nothing-here is not part of the shop's API",
      });
      const wrongMethod = await call({ method: 'PUT', url: ITEMS, payload: {} });
      expect(wrongMethod.status).toBe(404);
      expect(wrongMethod.json.message).toBe(`PUT ${ITEMS} is not part of the shop's API`);
    });

    it('an order nobody has written: 200 with order and bill null', async () => {
      const answer = await call({ method: 'GET', url: '/api/orders/never-seen' });
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ orderId: 'never-seen', order: null, bill: null });
    });

    it('an order that is stored: 200 with the order', async () => {
      const order: Order = { id: 'o-7', lines: ['Meat', 'Meat'], submitted: false };
      await orderStore.save('orders', 'o-7', order, 0);
      const answer = await call({ method: 'GET', url: '/api/orders/o-7' });
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ orderId: 'o-7', order, bill: null });
    });

    it("marketing's counts: by first filling; none in a shop without marketing", async () => {
      expect((await call({ method: 'GET', url: '/api/marketing' })).json).toEqual({
        firstFillings: {},
      });
      const marketing = new MemoryDocumentStore<FirstItems>();
      await marketing.save('marketing', 'first-items', { counts: { Meat: 2, Strawberry: 1 } }, 0);
      const withMarketing = createFrontend({
        frontend,
        orders: new Entities(orderStore, 'orders'),
        bills: new Entities(new MemoryDocumentStore<Bill>(), 'bills'),
        marketing: new Entities(marketing, 'marketing'),
        log: new LiveLog(),
      });
      const answer = await withMarketing.inject({ method: 'GET', url: '/api/marketing' });
      expect(answer.json()).toEqual({ firstFillings: { Meat: 2, Strawberry: 1 } });
      await withMarketing.close();
    });

    it('the fillings: all five, with their prices', async () => {
      const answer = await call({ method: 'GET', url: '/api/fillings' });
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({
        fillings: [
          { name: 'Meat', priceCents: PRICES.Meat },
          { name: 'Mushrooms', priceCents: PRICES.Mushrooms },
          { name: 'QuarkAndPotatoes', priceCents: PRICES.QuarkAndPotatoes },
          { name: 'SwissCheese', priceCents: PRICES.SwissCheese },
          { name: 'Strawberry', priceCents: PRICES.Strawberry },
        ],
      });
    });

    it('the page: HTML with the shop in it', async () => {
      const answer = await call({ method: 'GET', url: '/' });
      expect(answer.status).toBe(200);
      expect(answer.contentType).toMatch(/^text\/html/);
      expect(answer.body).toContain('Pierogi shop');
    });
  });

  describe('garbage', () => {
    it('URLs the router cannot take: a 4xx in the API shape, not quoting the URL back', async () => {
      const huge = await call({ method: 'GET', url: `/api/orders/${'x'.repeat(100_000)}` });
      expect(huge.status).toBe(414);
      expect(huge.json).toEqual({
        error: 'URL too long',
        message: 'a part of the URL is longer than 100 characters',
      });
      const badEscape = await call({ method: 'GET', url: '/api/orders/%E0%A4%A' });
      expect(badEscape.status).toBe(400);
      expect(badEscape.json).toEqual({
        error: 'bad request',
        message: 'the URL is not valid: a %-escape in it does not decode',
      });
    });

    it('JSON nested 10,000 deep: refused for its size; nested as deep as fits: 400', async () => {
      const deepArray = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
      const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
      for (const payload of [deepArray, deepObject]) {
        const answer = await postItem(payload);
        expect(answer.status).toBe(413);
        expect(answer.json.message).toBe(`the body is larger than ${MAX_BODY_BYTES} bytes`);
      }
      // The deepest nesting that fits under the limit reaches the JSON parser (and, unchecked,
      // overflowed the stack quoting it in the validation message: a 500).
      const depth = Math.floor((MAX_BODY_BYTES - 20) / 2);
      const tooDeep =
        'in the body: the JSON nests deeper than 8 levels; send a flat object like {"filling": "Meat"}';
      const nestedDeepest: [string, string | RegExp][] = [
        [`{"filling":${'['.repeat(depth)}${']'.repeat(depth)}}`, tooDeep],
        [`${'{"a":'.repeat(2_000)}1${'}'.repeat(2_000)}`, tooDeep],
        // Prototype keys are refused by name, however deep.
        [
          `${'{"__proto__":'.repeat(1_000)}1${'}'.repeat(1_000)}`,
          'the key "__proto__" is not allowed in a body',
        ],
        [
          `${'{"constructor":{"prototype":'.repeat(500)}1${'}}'.repeat(500)}`,
          'the key "constructor" is not allowed in a body',
        ],
      ];
      for (const [payload, message] of nestedDeepest) {
        const answer = await postItem(payload);
        expect(answer.status, payload.slice(0, 30)).toBe(400);
        expect(answer.json.message, payload.slice(0, 30)).toMatch(message);
      }
      await expectNothingElseSent();
    });

    it('random bytes, odd content-types and long URLs: every answer a 4xx, and the shop still works', async () => {
      const random = seededRandom(20_240_601);
      const contentTypes = [
        'application/json',
        'text/plain',
        'application/octet-stream',
        'application/json; charset=latin1',
        'multipart/form-data; boundary=x',
      ];
      const urls = [
        ITEMS,
        '/api/orders/o-1/submit',
        `/api/orders/${'y'.repeat(20_000)}/items`,
        `/${'z'.repeat(20_000)}`,
      ];
      for (let i = 0; i < 60; i++) {
        const bytes = Buffer.alloc(1 + Math.floor(random() * 2_000));
        for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
        const url = urls[i % urls.length] as string;
        const contentType = contentTypes[Math.floor(random() * contentTypes.length)] as string;
        const answer = await call({
          method: 'POST',
          url,
          payload: bytes,
          headers: { 'content-type': contentType },
        });
        const what = `POST ${url.slice(0, 40)} as ${contentType}, ${bytes.length} bytes`;
        expect(answer.status, what).toBeGreaterThanOrEqual(400);
        expect(answer.status, what).toBeLessThan(500);
        expect(answer.json.message, what).toEqual(expect.any(String));
      }
      // Still up, and nothing was sent for any of it.
      await expectNothingElseSent();
    });
  });
});

describe('the frontend over a real socket', () => {
  it('a client that never finishes its request is cut off with a 408, in about the time set', async () => {
    const transport = new MemoryTransport();
    const frontend = new Endpoint({ name: 'frontend', transport, routes: { AddItem: 'orders' } });
    const slow = createFrontend({
      frontend,
      orders: new Entities(new MemoryDocumentStore<Order>(), 'orders'),
      bills: new Entities(new MemoryDocumentStore<Bill>(), 'bills'),
      log: new LiveLog(),
      timeouts: { requestMs: 300, keepAliveMs: 300 },
    });
    const address = await slow.listen({ port: 0, host: '127.0.0.1' });
    try {
      const socket = connect(Number(new URL(address).port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => {
        answer += chunk.toString();
      });
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      // Headers that promise a body of 100 bytes, then 10 of them, then nothing.
      socket.write(
        'POST /api/orders/o-1/items HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"filling"',
      );
      await closed; // the test's own timeout (30 s) fails it if the server never cuts it off
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(answer).toContain(
        '{"error":"request timeout","message":"the request took longer than 0.3 s to arrive"}',
      );

      // A request the HTTP parser refuses gets the API's shape and a reason, too.
      const bad = connect(Number(new URL(address).port), '127.0.0.1');
      let refused = '';
      bad.on('data', (chunk) => {
        refused += chunk.toString();
      });
      const badClosed = new Promise<void>((resolve) => bad.on('close', () => resolve()));
      bad.write('FOO /api/fillings HTTP/1.1\r\nhost: x\r\n\r\n');
      await badClosed;
      expect(refused).toMatch(/^HTTP\/1\.1 400/);
      expect(refused).toContain('the method is not one the shop knows: use GET, POST or DELETE');
    } finally {
      await slow.close();
      await transport.close();
    }
  });
});

/** A small deterministic generator (mulberry32): the same "random" garbage on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import {
  BrokerUnavailableError,
  type Chaos,
  createLogger,
  describeIssues,
  type Endpoint,
  type FailedMessages,
  isTransientDatabaseError,
  SimulatedFailure,
  STRATEGY_FIELD,
} from '@pierogi/shared';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  AddItem,
  FILLINGS,
  FillingSchema,
  OrderId,
  PRICES,
  RemoveItem,
  SubmitOrder,
} from '../contracts.ts';
import {
  type Bill,
  type Entities,
  FIRST_ITEMS_ID,
  type FirstItems,
  type Order,
} from '../entities.ts';
import type { LiveLog } from '../liveLog.ts';
import { type Accepted, accepted as acceptedAs, type CustomerIntents } from '../shopCode.ts';
import type { ShopStep } from '../steps.ts';
import { chaosRoutes } from './chaosApi.ts';
import type { CounterexamplePanel } from './counterexampleView.ts';
import { errorsRoutes } from './errorsApi.ts';
import { MemoryRequestKeys, type RequestKeys } from './requestKeys.ts';
import { BadJsonError, parseStrictJson } from './strictJson.ts';

const PAGE = readFileSync(new URL('./page.html', import.meta.url), 'utf8');

/** The largest request body the API reads; anything bigger is refused with 413. */
export const MAX_BODY_BYTES = 16 * 1024;

const OrderParams = z.object({ orderId: OrderId });
/** `unknown field "a"`, `unknown fields "a", "b"`. */
function unknownFields(keys: readonly string[]): string {
  return `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
}

const ItemBody = z.strictObject(
  { filling: FillingSchema },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `${unknownFields(issue.keys)}: the body takes only "filling" (one portion per request)`
        : 'the body must be a JSON object like {"filling": "Meat"}',
  },
);
/** A request that takes no body: none or an empty object is fine, anything in it is refused by name. */
const NoBody = (what: string) =>
  z
    .strictObject(
      {},
      {
        error: (issue) =>
          issue.code === 'unrecognized_keys'
            ? `${unknownFields(issue.keys)}: ${what} takes no body`
            : `${what} takes no body (or an empty JSON object)`,
      },
    )
    .optional();
const ItemParams = OrderParams.extend({ filling: FillingSchema });
const RequestHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'idempotency-key must be 1–64 letters, digits, "-" or "_"')
    .optional(),
});

/** Without an exercise's frontend code: each request sends its command, retries included. */
function sendEach(frontend: Endpoint): CustomerIntents {
  return {
    addItem: async ({ orderId, filling }) =>
      acceptedAs(await frontend.send(AddItem, { orderId, filling })),
    removeItem: async ({ orderId, filling }) =>
      acceptedAs(await frontend.send(RemoveItem, { orderId, filling })),
    submitOrder: async ({ orderId }) => acceptedAs(await frontend.send(SubmitOrder, { orderId })),
  };
}

export interface FrontendOptions {
  /** Sends the customer's commands. */
  readonly frontend: Endpoint;
  /** How requests become commands (an exercise's frontend code); default: send each one. */
  readonly intents?: CustomerIntents;
  /** Whether the shop has a handler for a command; requests it cannot handle get a 409. */
  readonly handled?: (commandType: string) => boolean;
  readonly orders: Entities<Order>;
  readonly bills: Entities<Bill>;
  /** Marketing's counts, for the page (none: the route answers with no counts). */
  readonly marketing?: Entities<FirstItems>;
  readonly log: LiveLog;
  /** The shop's chaos monkey, for the page's chaos panel (no panel without it). */
  readonly chaos?: Chaos<ShopStep>;
  /** The error queue, kept in a table: the page lists it and sends messages back. */
  readonly failed?: FailedMessages;
  /** The idempotency keys seen, with their requests (default: in this process's memory). */
  readonly requests?: RequestKeys;
  /**
   * How long a client may take to send a whole request, and to send the next one on a kept-alive
   * connection, before it is cut off (408). Default 10 s and 5 s.
   */
  readonly timeouts?: { readonly requestMs?: number; readonly keepAliveMs?: number };
  /**
   * The last counterexample an exercise's check found (exercises 16 and 17), read on each request:
   * the page shows it as a sequence diagram. None: the page has no such panel.
   */
  readonly counterexample?: () => Promise<CounterexamplePanel | undefined>;
}

/**
 * Failures of the broker or the database (or the chaos monkey playing one): the request was
 * fine, and the same request may succeed in a moment.
 */
function transient(error: unknown): boolean {
  return (
    error instanceof BrokerUnavailableError ||
    error instanceof SimulatedFailure ||
    isTransientDatabaseError(error)
  );
}

/** How long a client should wait before trying again after a 503, in seconds. */
const RETRY_AFTER_SECONDS = 1;

/** A request the API refuses, with the status and a message that says what to change. */
class BadRequest extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** How deep a body may nest: the API's bodies are flat objects like {"filling": "Meat"}. */
const MAX_DEPTH = 8;

/** Whether `value` nests deeper than `limit`; recurses no deeper than `limit` itself. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit === 0) return true;
  return Object.values(value).some((child) => nestsDeeperThan(child, limit - 1));
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  // JSON a few thousand levels deep fits in the body limit, and quoting it in a validation
  // message (JSON.stringify) overflows the stack: refuse it before the schema sees it.
  if (nestsDeeperThan(value, MAX_DEPTH)) {
    throw new BadRequest(
      400,
      `${what}: the JSON nests deeper than ${MAX_DEPTH} levels; send a flat object like {"filling": "Meat"}`,
    );
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new BadRequest(400, `${what}: ${describeIssues(result.error)}`);
  return result.data;
}

/**
 * The shop's front: a JSON API that turns each customer request into a command, a page to click
 * through it, and the live message log as server-sent events. Every request is validated at the
 * edge; a bad one gets a 4xx saying what is wrong, never a 500.
 */
export function createFrontend(options: FrontendOptions): FastifyInstance {
  const requestMs = options.timeouts?.requestMs ?? 10_000;
  const keepAliveMs = options.timeouts?.keepAliveMs ?? 5_000;
  const app = Fastify({
    bodyLimit: MAX_BODY_BYTES,
    logger: false,
    // A client that sends a request slowly (or never finishes its body) holds a connection: cut
    // it off after `requestMs` with a 408. Node checks its connections for that every so often:
    // here a few times within the limit, so "10 s" does not become 40.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: requestMs,
          headersTimeout: requestMs,
          keepAliveTimeout: keepAliveMs,
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestMs / 4))),
        },
        handler,
      ),
    // Fastify refuses a URL it cannot route (a broken %-escape, a part over 100 characters) before
    // any handler runs, in its own shape and quoting the whole URL back: refuse it like the rest.
    // Requests Node's HTTP parser refuses (or that take too long to arrive) never reach a route:
    // answer them in the API's shape too, saying what is wrong.
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      const status = timeout ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const body = JSON.stringify({
        error: timeout ? 'request timeout' : 'bad request',
        message: timeout
          ? `the request took longer than ${requestMs / 1000} s to arrive`
          : parserProblem(error.code),
      });
      const reason = timeout
        ? 'Request Timeout'
        : status === 431
          ? 'Request Header Fields Too Large'
          : 'Bad Request';
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    },
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const status = error.statusCode ?? 400;
      return reply.status(status).send({ error: errorName(status), message: explain(error) });
    },
  });
  // Fastify reads text/plain bodies as strings, so JSON sent as text would be refused for its shape
  // ("must be a JSON object"). With JSON its only parser, any other body gets a 415 that says why.
  app.removeContentTypeParser('text/plain');
  // JSON more strictly than Fastify's parser: UTF-8 only, no byte order mark, no key twice, no
  // prototype keys — each refused with its reason.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i
      .exec(String(request.headers['content-type'] ?? ''))?.[1]
      ?.toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      done(new BadRequest(415, `send the body in UTF-8 (charset=utf-8), not ${charset}`));
      return;
    }
    if (body === '') {
      done(
        new BadRequest(
          400,
          'the body is empty but content-type says JSON; send JSON, e.g. {"filling": "Meat"}, or no content-type and no body',
        ),
      );
      return;
    }
    try {
      done(null, parseStrictJson(body as string));
    } catch (error) {
      done(error instanceof BadJsonError ? new BadRequest(400, error.message) : (error as Error));
    }
  });
  const { frontend, orders, bills, log } = options;
  const logger = createLogger().child({ endpoint: 'frontend' });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500 && transient(error)) {
      // The request was fine; passing it on failed. The client may retry (same idempotency-key).
      logger.warn({ err: error }, 'could not serve a request for now');
      return reply
        .status(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({
          error: 'service unavailable',
          message: `the shop cannot serve this right now (${error.message}); try again in a moment, with the same idempotency-key if you sent one`,
        });
    }
    if (status >= 500) {
      logger.error({ err: error }, 'the frontend failed a request');
      return reply
        .status(500)
        .send({ error: 'internal error', message: 'the shop failed; see its log' });
    }
    return reply.status(status).send({ error: errorName(status), message: explain(error) });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: 'not found',
      message: `${request.method} ${request.url} is not part of the shop's API`,
    }),
  );

  app.get('/', (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));

  // 200 always (the page asks every shop): `{ panel: false }` when this shop shows none.
  const counterexample = options.counterexample;
  app.get('/api/counterexample', async () => {
    if (!counterexample) return { panel: false };
    return (
      (await counterexample()) ?? {
        title: 'none yet',
        message:
          'run the check in another terminal (pnpm check NN): this panel shows the last counterexample it found',
      }
    );
  });

  app.get('/api/fillings', async () => ({
    fillings: FILLINGS.map((name) => ({ name, priceCents: PRICES[name] })),
  }));

  if (options.chaos) chaosRoutes(app, options.chaos, parse);
  if (options.failed) errorsRoutes(app, options.failed, parse);

  const intents = options.intents ?? sendEach(frontend);
  const accepted = (reply: FastifyReply, answer: Accepted) => reply.status(202).send(answer);
  const requests = options.requests ?? new MemoryRequestKeys();
  /**
   * The request's idempotency key, if it sent one. The same key with another request (another
   * order, filling or verb) is refused: it would otherwise be taken for a retry of the first, or
   * applied as new.
   */
  const requestIdOf = async (
    request: { headers: Record<string, unknown>; method: string },
    /** The request as the API read it: its route, its parameters (decoded) and its body. */
    what: { route: string; params: object; body?: object },
  ): Promise<{ requestId?: string; retry: boolean }> => {
    const key = parse(RequestHeaders, request.headers, 'in the headers')['idempotency-key'];
    if (key === undefined) return { retry: false };
    // Its path from the decoded parameters: the same request, however its URL was escaped.
    const path = what.route.replace(/:(\w+)/g, (_match, name: string) =>
      encodeURIComponent(String((what.params as Record<string, unknown>)[name])),
    );
    const described = `${request.method} ${path} ${JSON.stringify(what.body ?? {})}`;
    const { use, first } = await requests.use(key, described);
    if (use === 'other') {
      throw new BadRequest(
        422,
        `idempotency-key ${key} was used for another request (${first}); send a new key with a new request`,
      );
    }
    return { requestId: key, retry: use === 'retry' };
  };
  /**
   * A change to an order the customer has submitted is refused where the frontend can see it —
   * but not a retry of a request made before: it was accepted then, and is answered the same.
   */
  const refuseIfSubmitted = async (orderId: string, retry: boolean) => {
    if (retry) return;
    const { value: order } = await orders.load(orderId);
    if (order?.submitted) {
      throw new BadRequest(409, `order ${orderId} is submitted: it takes no more changes`);
    }
  };

  app.post('/api/orders/:orderId/items', async (request, reply) => {
    const { orderId } = parse(OrderParams, request.params, 'in the URL');
    const { filling } = parse(ItemBody, request.body, 'in the body');
    const { requestId, retry } = await requestIdOf(request, {
      route: '/api/orders/:orderId/items',
      params: { orderId },
      body: { filling },
    });
    await refuseIfSubmitted(orderId, retry);
    return accepted(
      reply,
      await intents.addItem({ orderId, filling, ...(requestId ? { requestId } : {}) }),
    );
  });

  app.delete('/api/orders/:orderId/items/:filling', async (request, reply) => {
    const { orderId, filling } = parse(ItemParams, request.params, 'in the URL');
    if (options.handled && !options.handled('RemoveItem')) {
      // Sent anyway, it would end in the error queue with nothing on the page to say so.
      throw new BadRequest(
        409,
        'this shop cannot remove items yet: orders has no RemoveItem handler',
      );
    }
    parse(NoBody('removing an item'), request.body, 'in the body');
    const { requestId, retry } = await requestIdOf(request, {
      route: '/api/orders/:orderId/items/:filling',
      params: { orderId, filling },
    });
    await refuseIfSubmitted(orderId, retry);
    return accepted(
      reply,
      await intents.removeItem({ orderId, filling, ...(requestId ? { requestId } : {}) }),
    );
  });

  app.post('/api/orders/:orderId/submit', async (request, reply) => {
    const { orderId } = parse(OrderParams, request.params, 'in the URL');
    parse(NoBody('submitting'), request.body, 'in the body');
    const { requestId } = await requestIdOf(request, {
      route: '/api/orders/:orderId/submit',
      params: { orderId },
    });
    return accepted(
      reply,
      await intents.submitOrder({ orderId, ...(requestId ? { requestId } : {}) }),
    );
  });

  app.get('/api/orders/:orderId', async (request) => {
    const { orderId } = parse(OrderParams, request.params, 'in the URL');
    const [order, bill] = await Promise.all([orders.load(orderId), bills.load(orderId)]);
    // The business state only: what a strategy keeps beside it is the shop's own business.
    return {
      orderId,
      order: businessState(order.value) ?? null,
      bill: businessState(bill.value) ?? null,
    };
  });

  app.get('/api/marketing', async () => {
    const { value } = options.marketing
      ? await options.marketing.load(FIRST_ITEMS_ID)
      : { value: undefined };
    // How many orders started with each filling (what exercises 11–14 are decided on).
    return { firstFillings: value?.counts ?? {} };
  });

  // A live-log stream stays open as long as its page does: end them all when the shop stops, or
  // close() would wait for every browser tab to go away.
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.end();
  });

  app.get('/api/log', (request, reply) => {
    reply.hijack();
    const raw = reply.raw;
    streams.add(raw);
    raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const send = (entry: unknown) => raw.write(`data: ${JSON.stringify(entry)}\n\n`);
    for (const entry of log.recent()) send(entry);
    log.on('entry', send);
    request.raw.on('close', () => {
      log.off('entry', send);
      streams.delete(raw);
    });
  });

  return app;
}

/** What Node's HTTP parser refused, said for a person. */
function parserProblem(code: string | undefined): string {
  switch (code) {
    case 'HPE_INVALID_METHOD':
      return 'the method is not one the shop knows: use GET, POST or DELETE';
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return 'the request gives its length twice (content-length and transfer-encoding, or two content-lengths): give it once';
    case 'HPE_INVALID_CONTENT_LENGTH':
      return 'content-length is not a number of bytes';
    case 'HPE_INVALID_VERSION':
      return 'the HTTP version is not one the shop speaks: use HTTP/1.1';
    case 'HPE_HEADER_OVERFLOW':
      return 'the headers are too large';
    default:
      return `the request is not valid HTTP (${code ?? 'unreadable'}): check the request line and the headers`;
  }
}

/** A document without the field a library strategy keeps its data in. */
function businessState<T extends object>(doc: T | undefined): T | undefined {
  if (doc === undefined || !Object.hasOwn(doc, STRATEGY_FIELD)) return doc;
  const { [STRATEGY_FIELD]: _strategy, ...state } = doc as T & Record<string, unknown>;
  return state as T;
}

function errorName(status: number): string {
  if (status === 408) return 'request timeout';
  if (status === 409) return 'not possible here';
  if (status === 422) return 'key used for another request';
  if (status === 413) return 'request too large';
  if (status === 414) return 'URL too long';
  if (status === 415) return 'unsupported media type';
  return 'bad request';
}

function explain(error: Error & { code?: string }): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return `the body is not valid JSON (${error.message}); send e.g. {"filling": "Meat"}`;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      // Submitting takes no body: the fix may be to drop the content-type rather than add JSON.
      return 'the body is empty but content-type says JSON; send JSON, e.g. {"filling": "Meat"}, or no content-type and no body';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the body is larger than ${MAX_BODY_BYTES} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'send the body as JSON, with content-type: application/json';
    case 'FST_ERR_BAD_URL':
      return 'the URL is not valid: a %-escape in it does not decode';
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return 'a part of the URL is longer than 100 characters';
    default:
      return error.message;
  }
}

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  BodyOf,
  CommandType,
  Endpoint,
  Envelope,
  EventType,
  HandlerContext,
  StepHook,
} from '@pierogi/shared';
import type pg from 'pg';
import type { Filling } from './contracts.ts';
import type { Bill, Entities, FirstItems, Order } from './entities.ts';
import type { LiveLog } from './liveLog.ts';
import type { ShopStep } from './steps.ts';

/** The shop's documents, by kind. */
export interface ShopStores {
  readonly orders: Entities<Order>;
  readonly bills: Entities<Bill>;
  readonly marketing: Entities<FirstItems>;
}

/**
 * What a shop handler gets besides the message: the bus's context, and the shop's documents as
 * this message's unit of work sees them (its chaos steps name the message; its writes join the
 * SQL transaction the unit of work holds, if any).
 */
export type ShopHandlerContext = HandlerContext & ShopStores;

export type ShopHandler<M extends CommandType | EventType> = (
  message: Envelope<BodyOf<M>>,
  context: ShopHandlerContext,
) => Promise<void>;

/** What an exercise's code gets to set up one endpoint of the shop. */
export interface ShopContext extends ShopStores {
  /** The endpoint: its middleware (`use`), its name, sends from outside a handler. */
  readonly endpoint: Endpoint;
  /**
   * Registers the handler of one message type on the endpoint. Its context carries the shop's
   * documents for that message (`context.orders`…). (`shop.orders` and the others, outside a
   * handler, belong to no message: each save commits at once, on a connection of the pool.)
   */
  handle<M extends CommandType | EventType>(messageType: M, handler: ShopHandler<M>): void;
  /** For exercises that keep rows of their own. Its search path is the shop's schema. */
  readonly pool: pg.Pool;
  readonly log: LiveLog;
  /**
   * The chaos monkey's hook for named steps ('commit', 'dispatch', …): give it to a library
   * strategy so chaos rules can fail, time out or crash its steps.
   */
  readonly steps: StepHook<ShopStep>;
  /** Puts "duplicate dropped" on the page's live log. */
  duplicate(context: HandlerContext, why: string): void;
  /**
   * Runs `stop` when the shop closes, after the endpoints have stopped and before the database
   * pool ends (a background dispatcher holding a connection stops here).
   */
  onClose(stop: () => Promise<void>): void;
}

export type EndpointSetup = (shop: ShopContext) => void | Promise<void>;

/**
 * What the customer asks the shop to do, as the HTTP API hands it over. `requestId` is the
 * client's id for the request (the `idempotency-key` header): the same on every retry of one
 * click, different for the next click; absent if the client sent none.
 */
export interface CustomerIntents {
  addItem(request: { orderId: string; filling: Filling; requestId?: string }): Promise<Accepted>;
  removeItem(request: { orderId: string; filling: Filling; requestId?: string }): Promise<Accepted>;
  submitOrder(request: { orderId: string; requestId?: string }): Promise<Accepted>;
}

/** The answer to a request: the command that carries it (the same one for every retry). */
export interface Accepted {
  readonly messageId: string;
  readonly conversationId: string;
}

/** The answer for a command just sent. */
export function accepted(message: Envelope): Accepted {
  return { messageId: message.id, conversationId: message.headers.conversationId };
}

/** What an exercise's frontend code gets: the endpoint that sends commands, and a database. */
export interface FrontendContext {
  readonly endpoint: Endpoint;
  readonly pool: pg.Pool;
}

export type FrontendSetup = (shop: FrontendContext) => CustomerIntents | Promise<CustomerIntents>;

/**
 * An exercise's (or solution's) shop code: the code of each endpoint it has. The default export
 * of its module (see `shopCodeModule`), made with `defineShop`.
 */
export interface ShopCode {
  /** How customer requests become commands; by default each request sends its command. */
  readonly frontend?: FrontendSetup;
  readonly orders?: EndpointSetup;
  readonly billing?: EndpointSetup;
  readonly marketing?: EndpointSetup;
}

export function defineShop(code: ShopCode): ShopCode {
  return code;
}

/**
 * The module of a shop code: `src/index.ts` of the folder named (`exercises/07-lost-messages`),
 * or the `.ts` file named itself.
 */
export function shopCodeModule(folderOrFile: string): string {
  return folderOrFile.endsWith('.ts') ? folderOrFile : path.join(folderOrFile, 'src/index.ts');
}

/**
 * The shop code of a folder (or `.ts` file; relative to the current directory): the default
 * export of its module, or an error that names the module when it has none.
 */
export async function loadShopCode(folderOrFile: string): Promise<ShopCode> {
  const file = path.resolve(shopCodeModule(folderOrFile));
  const module = (await import(pathToFileURL(file).href)) as { default?: ShopCode };
  if (!module.default) {
    throw new Error(
      `${file} has no default export: it should end with export default defineShop({...})`,
    );
  }
  return module.default;
}

import type { Endpoint, HandlerContext } from '@pierogi/shared';
import type pg from 'pg';
import type { Bill, Entities, FirstItems, Order } from './entities.ts';
import type { LiveLog } from './liveLog.ts';

/** What an exercise's code gets to set up one endpoint of the shop. */
export interface ShopContext {
  /** The endpoint to add handlers (and middleware) to. */
  readonly endpoint: Endpoint;
  readonly orders: Entities<Order>;
  readonly bills: Entities<Bill>;
  readonly marketing: Entities<FirstItems>;
  /** For exercises that keep rows of their own. Its search path is the shop's schema. */
  readonly pool: pg.Pool;
  readonly log: LiveLog;
  /** Puts "duplicate dropped" on the page's live log. */
  duplicate(context: HandlerContext, why: string): void;
}

export type EndpointSetup = (shop: ShopContext) => void | Promise<void>;

/** An exercise's (or solution's) shop: the code of each endpoint it has. */
export interface ShopTree {
  readonly orders?: EndpointSetup;
  readonly billing?: EndpointSetup;
  readonly marketing?: EndpointSetup;
}

export function defineShop(tree: ShopTree): ShopTree {
  return tree;
}

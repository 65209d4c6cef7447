export * from './contracts.ts';
export {
  type Bill,
  Entities,
  FIRST_ITEMS_ID,
  type FirstItems,
  type Order,
} from './entities.ts';
export {
  type CounterexamplePanel,
  type CounterexampleView,
  offlineSvg,
  viewOfCounterexample,
} from './frontend/counterexampleView.ts';
export { createFrontend, type FrontendOptions, MAX_BODY_BYTES } from './frontend/http.ts';
export { LiveLog, type LogEntry } from './liveLog.ts';
export {
  type RunningShop,
  type RunShopOptions,
  runShop,
  SHOP_PARTS,
  type ShopPart,
} from './runShop.ts';
export {
  type Accepted,
  accepted,
  type CustomerIntents,
  defineShop,
  type EndpointSetup,
  type FrontendContext,
  type FrontendSetup,
  loadShopCode,
  type ShopCode,
  type ShopContext,
  type ShopHandler,
  type ShopHandlerContext,
  type ShopStores,
  shopCodeModule,
} from './shopCode.ts';
export { ENTITY_KINDS, type EntityKind, SHOP_STEPS, type ShopStep } from './steps.ts';

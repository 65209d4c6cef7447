import { defineShop } from '@pierogi/shop';
import { billing } from './billing.ts';
import { chaosMonkey } from './chaosMonkey.ts';
import { orders } from './orders.ts';

export default defineShop({
  orders: (shop) => {
    shop.endpoint.use({ outgoing: chaosMonkey(shop.log) });
    return orders(shop);
  },
  billing,
});

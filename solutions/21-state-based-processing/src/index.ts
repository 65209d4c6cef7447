import { defineShop } from '@pierogi/shop';
import { billing } from './billing.ts';
import { frontend } from './frontend.ts';
import { marketing } from './marketing.ts';
import { orders } from './orders.ts';

export default defineShop({ frontend, orders, billing, marketing });

import { defineShop } from '@pierogi/shop';
import { billing } from './billing.ts';
import { orders } from './orders.ts';

export default defineShop({ orders, billing });

import { z } from 'zod';
import { defineCommand, defineEvent } from '../../src/messages/index.ts';

export const PlaceOrder = defineCommand(
  'PlaceOrder',
  z.object({ orderId: z.string(), filling: z.enum(['Meat', 'Mushrooms', 'Strawberry']) }),
);
export const CancelOrder = defineCommand('CancelOrder', z.object({ orderId: z.string() }));
export const OrderPlaced = defineEvent('OrderPlaced', z.object({ orderId: z.string() }));
export const OrderShipped = defineEvent('OrderShipped', z.object({ orderId: z.string() }));

import { defineEvent, deterministicId, type Envelope, randomFromMessage } from '@pierogi/shared';
import { OrderId } from '@pierogi/shop';
import { z } from 'zod';

/** A coupon for the customer's next order, granted when an order is submitted. */
export const CouponGranted = defineEvent(
  'CouponGranted',
  z.object({
    orderId: OrderId,
    code: z.string(),
    percent: z.number().int().min(1).max(100),
    /** Valid this many days from when the customer gets it. */
    validDays: z.number().int().positive(),
  }),
);

export interface Coupon {
  readonly code: string;
  readonly percent: number;
  readonly validDays: number;
}

/**
 * Marketing's lucky draw: one submitted order in five gets a coupon of 5–20 % for the next one,
 * valid for 30 days.
 *
 * Everything is drawn from the message's id: a copy of it, a redelivery, or the frontend's
 * retry of the request (the same id, sent again later, with another `sentAt`) draws the same
 * coupon. Its validity is a duration, not a date: a date needs a clock, and a re-run reads
 * another time (`sentAt` included).
 */
export function couponFor(message: Envelope<{ orderId: string }>): Coupon | undefined {
  const random = randomFromMessage(message.id, 'coupon');
  if (random.next() >= 0.2) return undefined;
  return {
    code: deterministicId(message.id, 'orders', 'coupon').slice(0, 8).toUpperCase(),
    percent: 5 + Math.floor(random.next() * 16),
    validDays: 30,
  };
}

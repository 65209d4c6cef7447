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
    validUntil: z.iso.datetime(),
  }),
);

export interface Coupon {
  readonly code: string;
  readonly percent: number;
  readonly validUntil: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Marketing's lucky draw: one submitted order in five gets a coupon of 5–20 % for the next one,
 * valid for 30 days.
 *
 * Everything is drawn from the message: a copy of it, or a retry, draws the same coupon.
 */
export function couponFor(message: Envelope<{ orderId: string }>): Coupon | undefined {
  const random = randomFromMessage(message.id, 'coupon');
  if (random.next() >= 0.2) return undefined;
  return {
    code: deterministicId(message.id, 'orders', 'coupon').slice(0, 8).toUpperCase(),
    percent: 5 + Math.floor(random.next() * 16),
    validUntil: new Date(Date.parse(message.headers.sentAt) + 30 * DAY_MS).toISOString(),
  };
}

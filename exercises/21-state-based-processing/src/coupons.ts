import { randomUUID } from 'node:crypto';
import { defineEvent, type Envelope } from '@pierogi/shared';
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
 * 👉 2. A handler on state-based deduplication runs again for a copy of its message, and must
 *    send exactly what it sent the first time. Draw from the message instead: the library's
 *    `randomFromMessage(message.id, purpose)` and `deterministicId(message.id, endpoint,
 *    purpose)`. 🤔 And the time? Which time does a re-run read — even `message.headers.sentAt`,
 *    when the frontend sends the same SubmitOrder again after a retried request?
 */
// biome-ignore lint/correctness/noUnusedFunctionParameters: the message is what 👉 2 draws from
export function couponFor(message: Envelope<{ orderId: string }>): Coupon | undefined {
  if (Math.random() >= 0.2) return undefined;
  return {
    code: randomUUID().slice(0, 8).toUpperCase(),
    percent: 5 + Math.floor(Math.random() * 16),
    validUntil: new Date(Date.now() + 30 * DAY_MS).toISOString(),
  };
}

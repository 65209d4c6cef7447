import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';

/** The namespace of every deterministic id this library makes (a fixed, random UUID). */
export const ID_NAMESPACE = '6f1b8c64-3c5e-4a53-9a3e-1d3a2f7e5b10';

/**
 * The id of an outgoing message, derived from what caused it: the same incoming message, handled
 * by the same endpoint for the same purpose, always gives the same id — so a retry re-sends
 * the same message, and downstream can recognise the copy.
 */
export function deterministicId(
  incomingMessageId: string,
  endpoint: string,
  purpose: string,
): string {
  return uuidv5(`${incomingMessageId}/${endpoint}/${purpose}`, ID_NAMESPACE);
}

/**
 * A 32-bit hash that is the same in every process and every version of Node (unlike hashes that
 * are seeded per process): safe to derive stored or sent values from.
 */
export function stableHash(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

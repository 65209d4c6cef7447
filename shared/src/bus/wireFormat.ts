import { describeIssues, type MessageType } from '../messages/defineMessage.ts';
import { type Envelope, type MessageHeaders, WIRE } from '../messages/envelope.ts';
import { PoisonMessageError } from './errors.ts';
import type { ReceivedMessage, TransportMessage } from './transport.ts';

/** An envelope as it travels: the body as JSON, named headers as `x-` headers. */
export function toTransportMessage(envelope: Envelope): TransportMessage {
  const { headers } = envelope;
  return {
    messageId: envelope.id,
    type: envelope.type,
    headers: {
      ...headers.custom,
      [WIRE.conversationId]: headers.conversationId,
      ...(headers.causationId ? { [WIRE.causationId]: headers.causationId } : {}),
      [WIRE.sendingEndpoint]: headers.sendingEndpoint,
      [WIRE.sentAt]: headers.sentAt,
    },
    body: Buffer.from(JSON.stringify(envelope.body)),
  };
}

export interface ParsedMessage {
  envelope: Envelope;
  messageType: MessageType;
}

/**
 * Turns received bytes into an envelope, or says why it cannot: not JSON, no id, no type, a
 * type this endpoint does not handle, a body its schema rejects. Each of these is poison: no
 * retry can fix it, so it goes to the error queue at once.
 */
export function parseReceived(
  raw: ReceivedMessage,
  handledTypes: ReadonlyMap<string, MessageType>,
): ParsedMessage {
  if (!raw.messageId) {
    throw new PoisonMessageError('missing-id', 'the message has no id (AMQP property message_id)');
  }
  if (!raw.type) {
    throw new PoisonMessageError('missing-type', 'the message has no type (AMQP property type)');
  }
  // A NUL byte in an id or a header cannot be stored (Postgres refuses it in text and JSON):
  // every attempt would fail the same way. No retry can fix it.
  const withNul = [['id', raw.messageId], ...Object.entries(raw.headers)].find(([, value]) =>
    value?.includes('\u0000'),
  );
  if (withNul) {
    throw new PoisonMessageError(
      'invalid-headers',
      `the message's ${withNul[0] === 'id' ? 'id' : `header ${withNul[0]}`} holds a NUL character`,
    );
  }
  const messageType = handledTypes.get(raw.type);
  if (!messageType) {
    const known = [...handledTypes.keys()].join(', ') || 'none';
    throw new PoisonMessageError(
      'unknown-type',
      `no handler for message type "${raw.type}" on queue ${raw.queue} (handled here: ${known})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.body.toString('utf8'));
  } catch (error) {
    throw new PoisonMessageError(
      'invalid-json',
      `the body is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const result = messageType.schema.safeParse(json);
  if (!result.success) {
    throw new PoisonMessageError(
      'invalid-body',
      `the body of ${raw.type} is invalid: ${describeIssues(result.error)}`,
    );
  }
  return {
    messageType,
    envelope: {
      id: raw.messageId,
      type: raw.type,
      body: result.data,
      headers: readHeaders(raw),
    },
  };
}

function readHeaders(raw: ReceivedMessage): MessageHeaders {
  const h = raw.headers;
  const custom: Record<string, string> = {};
  for (const [key, value] of Object.entries(h)) {
    if (!key.startsWith('x-')) custom[key] = value;
  }
  return {
    conversationId: h[WIRE.conversationId] ?? raw.messageId ?? '',
    causationId: h[WIRE.causationId],
    sendingEndpoint: h[WIRE.sendingEndpoint] ?? 'unknown',
    sentAt: h[WIRE.sentAt] ?? '',
    deliveryCount: firstDeliveryCount(raw),
    custom,
  };
}

/** Attempts already made (recorded when it was sent back for a delayed retry), plus this one. */
export function firstDeliveryCount(raw: ReceivedMessage): number {
  const previous = Number(raw.headers[WIRE.previousAttempts] ?? 0) || 0;
  return previous + (raw.redelivered ? 1 : 0) + 1;
}

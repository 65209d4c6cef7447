import { randomUUID } from 'node:crypto';
import { capturedOf, captureOutgoing } from '../bus/capture.ts';
import type { OutgoingOperation } from '../bus/context.ts';
import type { Endpoint, OutgoingMiddleware } from '../bus/endpoint.ts';
import type { Envelope } from '../messages/envelope.ts';
import { ConcurrencyError } from '../store/documentStore.ts';
import type { TokenStore } from '../store/tokenStore.ts';
import {
  type Delivery,
  DOCUMENT_STEPS,
  type DocumentStrategyOptions,
  OutboxStrategy,
  type PendingMessages,
} from './documentStrategy.ts';

/** The application header that carries a message's deduplication token. */
export const TOKEN_HEADER = 'dedup-token';

/** A message reached a token-based endpoint without a token: it cannot tell a copy from an original. */
export class MissingTokenError extends Error {
  override name = 'MissingTokenError';
}

/**
 * Token-based deduplication: the sender creates a token for each message and receiver before
 * sending it (an event has one per subscriber, which the sender must be told of); the receiver
 * processes a message only while its token exists, and deletes the token (at the version it
 * read) when done. The token store holds one row per message in flight, not one per
 * message ever processed, and no clock decides when to forget.
 *
 * Receiving, with the outbox in the entity's document:
 *   load the entity                                   ← before the token check
 *   if no outbox entry:
 *     token missing → a duplicate; done
 *     run the handler; store state + outbox[id] = { messages, new token ids }
 *   else if not tokensGenerated:
 *     store new token ids (the old ones are abandoned: never sent)
 *   if not tokensGenerated: create the tokens; store tokensGenerated = true
 *   dispatch the messages, each with its token; delete abandoned tokens
 *   delete the incoming token (if still at the version read)   ← before removing the entry
 *   remove the outbox entry
 *
 * - `tokensGenerated` is stored before dispatch, so a retry after the messages went out does
 *   not create their tokens again: the receiver may have consumed and deleted them, and a new
 *   token would let it process the same message a second time.
 * - That flag alone is not enough: a copy that read the entry before the flag was stored could
 *   create the tokens after they were consumed. So a token id is used by one generation only:
 *   an attempt that finds tokens planned but not generated plans new ids (a write that conflicts
 *   with anyone who stored the flag meanwhile), and the old ids are never sent. A late creator
 *   of old ids makes a token nobody will consume: the abandoned ids are deleted after dispatch,
 *   and a creator whose flag write conflicts deletes the tokens it just made. Only a crash in
 *   the middle of such a race leaves a token behind (never a duplicate).
 * - The incoming token is deleted before the entry is removed: the proof that the message was
 *   processed is the entry (while it exists) or the missing token, never neither.
 * - Load first, for the same race as the inbox's: a copy that saw the token before another copy
 *   deleted it also loaded the document before that copy wrote, so its own write conflicts.
 */
/** A token-based outbox entry: the messages, and the tokens that go with them. */
export interface TokenEntry extends PendingMessages {
  /** The token of each message, by message id (planned before they are created). */
  readonly tokenIds?: Readonly<Record<string, string>>;
  /** The tokens exist; the messages may leave (never create them again). */
  readonly tokensGenerated?: boolean;
  /** Tokens an earlier attempt planned and may have created; never sent, deleted. */
  readonly abandonedTokenIds?: readonly string[];
  /** The incoming message's token, deleted when these messages are out. */
  readonly token?: { readonly id: string; readonly version: number };
}

/** The steps of TokenBased a chaos rule can name. */
export const TOKEN_STEPS = [
  ...DOCUMENT_STEPS,
  'check-token',
  'plan-tokens',
  'create-tokens',
  'tokens-generated',
  'discard-tokens',
  'delete-token',
  'cleanup',
] as const;
export type TokenStep = (typeof TOKEN_STEPS)[number];

export class TokenBased<S extends object> extends OutboxStrategy<S, TokenEntry, TokenStep> {
  /** The steps a chaos rule can name. */
  static readonly STEPS = TOKEN_STEPS;

  private readonly tokens: TokenStore;
  private readonly subscribers: Subscribers;
  private endpointName: string | undefined;

  constructor(
    options: DocumentStrategyOptions<S, TokenStep> & {
      readonly tokens: TokenStore;
      /**
       * Who receives each event type this endpoint publishes: each receiver gets a token of its
       * own (one token for all would let the first receiver consume it for the others).
       */
      readonly subscribers?: Subscribers;
      /** This endpoint's name (taken from the endpoint by `use`): its part of each token. */
      readonly endpoint?: string;
    },
  ) {
    super(options);
    this.tokens = options.tokens;
    this.subscribers = options.subscribers ?? {};
    this.endpointName = options.endpoint;
    this.outgoing = tokenSender(this.tokens, { subscribers: this.subscribers });
  }

  protected override readonly outgoing: OutgoingMiddleware;

  override use(endpoint: Endpoint): Endpoint {
    this.endpointName = endpoint.name;
    return super.use(endpoint);
  }

  protected async process(delivery: Delivery, next: () => Promise<void>): Promise<void> {
    const { message } = delivery;
    let loaded = await this.load(delivery);
    let entry = this.entryOf(loaded, message.id);
    const store = async (step: TokenStep, changed: TokenEntry) => {
      entry = changed;
      loaded = await this.saveEntry(step, delivery, loaded, changed);
    };
    if (!entry) {
      const sent = message.headers.custom[TOKEN_HEADER];
      if (sent === undefined) {
        throw new MissingTokenError(
          `${message.type} ${message.id} has no ${TOKEN_HEADER} header, so this endpoint cannot tell a copy from the original; send it through an endpoint with TokenBased or tokenSender()`,
        );
      }
      if (this.endpointName === undefined) throw new Error('call use(endpoint) first');
      const tokenId = tokenFor(sent, this.endpointName);
      const version = await this.step('check-token', message, () => this.tokens.version(tokenId));
      if (version === undefined) return; // the token is gone: processed before
      ({ loaded, entry } = await this.handleIntoOutbox(delivery, next, loaded, (operations) => ({
        operations,
        tokenIds: planTokens(operations),
        token: { id: tokenId, version },
      })));
    } else if (!entry.tokensGenerated) {
      // An earlier attempt planned these tokens and may be creating them right now: plan anew.
      await store('plan-tokens', {
        ...entry,
        tokenIds: planTokens(entry.operations),
        abandonedTokenIds: [
          ...(entry.abandonedTokenIds ?? []),
          ...this.expand(entry.operations, entry.tokenIds ?? {}),
        ],
      });
    }
    const planned = entry as TokenEntry;
    const tokenIds = planned.tokenIds ?? {};
    if (!planned.tokensGenerated) {
      const created = this.expand(planned.operations, tokenIds);
      await this.step('create-tokens', message, () =>
        Promise.all(created.map((id) => this.tokens.create(id))),
      );
      try {
        await store('tokens-generated', { ...planned, tokensGenerated: true });
      } catch (error) {
        // Someone planned anew meanwhile: these tokens will never be sent, so nobody would
        // delete them. (Only on a conflict: a write that failed some other way may have happened.)
        if (error instanceof ConcurrencyError) await this.discard(message, created);
        throw error;
      }
    }
    await this.dispatch(
      message,
      planned.operations.map((op) => withToken(op, tokenIds[op.message.id] ?? op.message.id)),
    );
    await this.discard(message, planned.abandonedTokenIds ?? []);
    const token = planned.token;
    if (token) {
      await this.step('delete-token', message, () =>
        this.tokens.deleteIfVersion(token.id, token.version),
      );
    }
    await this.removeEntry('cleanup', delivery, loaded);
  }

  /** Every token of these messages: one per message and receiver. */
  private expand(
    operations: readonly OutgoingOperation[],
    tokenIds: Readonly<Record<string, string>>,
  ): string[] {
    return [
      ...new Set(
        operations.flatMap((op) => {
          const base = tokenIds[op.message.id] ?? op.message.id;
          return receiversOf(op, this.subscribers).map((receiver) => tokenFor(base, receiver));
        }),
      ),
    ];
  }

  private async discard(message: Envelope, tokenIds: readonly string[]): Promise<void> {
    if (tokenIds.length === 0) return;
    await this.step('discard-tokens', message, () =>
      Promise.all(tokenIds.map((id) => this.tokens.discard(id))),
    );
  }
}

/** Event type → the endpoints that subscribe to it. */
export type Subscribers = Readonly<Record<string, readonly string[]>>;

/** A published event's receivers are not known to a token-based sender. */
export class UnknownSubscribersError extends Error {
  override name = 'UnknownSubscribersError';
}

/**
 * Outgoing middleware for token-based receivers downstream. A message a handler sends is
 * captured: the strategy gives it its tokens when it dispatches. A message sent from outside a
 * handler gets its tokens (named after its id) created here, before it is sent.
 *
 * Such a sender must send each message once: a client that re-sends the same message after the
 * receiver consumed its token would create the token again, and the receiver would process the
 * message again. Record the request before sending (exercise 03), or send from a handler.
 */
export function tokenSender(
  tokens: TokenStore,
  options: { readonly subscribers?: Subscribers } = {},
): OutgoingMiddleware {
  const subscribers = options.subscribers ?? {};
  // Messages whose tokens exist: a middleware that repeats the send (a duplicate) repeats the
  // message, not the token — re-creating it after the receiver consumed it would let the copy in.
  const tokened = new WeakSet<object>();
  return async (context, next) => {
    if (tokened.has(context.operation.message)) return next();
    const receivers = receiversOf(context.operation, subscribers); // fails early, in the handler
    if (context.incoming && capturedOf(context.incoming)) return captureOutgoing(context, next);
    const operation = withToken(context.operation, context.operation.message.id);
    await Promise.all(receivers.map((r) => tokens.create(tokenFor(operation.message.id, r))));
    tokened.add(operation.message);
    context.operation = operation;
    return next();
  };
}

/** A command goes to one endpoint; an event to every subscriber the sender was told of. */
function receiversOf(operation: OutgoingOperation, subscribers: Subscribers): readonly string[] {
  const { destination } = operation;
  if (destination.kind === 'send') return [destination.endpoint];
  const receivers = subscribers[destination.type];
  if (!receivers || receivers.length === 0) {
    throw new UnknownSubscribersError(
      `token-based deduplication needs a token per receiver, and nobody said who subscribes to ${destination.type}: pass { subscribers: { ${destination.type}: ['endpoint', …] } }`,
    );
  }
  return receivers;
}

/** The token of one receiver for a message whose header carries `sent`. */
function tokenFor(sent: string, receiver: string): string {
  return `${sent}@${receiver}`;
}

/** A new token per message (a message sent twice, with one id, is one message: one token). */
function planTokens(operations: readonly OutgoingOperation[]): Record<string, string> {
  return Object.fromEntries(operations.map((op) => [op.message.id, randomUUID()]));
}

function withToken(operation: OutgoingOperation, tokenId: string): OutgoingOperation {
  const { message } = operation;
  return {
    ...operation,
    message: {
      ...message,
      headers: {
        ...message.headers,
        custom: { ...message.headers.custom, [TOKEN_HEADER]: tokenId },
      },
    },
  };
}

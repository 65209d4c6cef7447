import { capturedOf, captureOutgoing } from '../bus/capture.ts';
import type { OutgoingOperation } from '../bus/context.ts';
import type { OutgoingMiddleware } from '../bus/endpoint.ts';
import {
  type Delivery,
  DocumentStrategy,
  type DocumentStrategyOptions,
  type PendingMessages,
  withoutEntry,
} from '../dedup/documentStrategy.ts';
import type { TokenStore } from '../store/tokenStore.ts';

/** The application header that carries a message's deduplication token. */
export const TOKEN_HEADER = 'dedup-token';

/** A message reached a token-based endpoint without a token: it cannot tell a copy from an original. */
export class MissingTokenError extends Error {
  override name = 'MissingTokenError';
}

/**
 * Token-based deduplication: the sender creates a token for each message before sending it; the
 * receiver processes a message only while its token exists, and deletes the token (at the
 * version it read) when done. The token store holds one row per message in flight, not one per
 * message ever processed, and no clock decides when to forget.
 *
 * Receiving, with the outbox in the entity's document:
 *   load the entity                                  ← before the token check
 *   if no outbox entry:
 *     token missing → a duplicate; done
 *     run the handler; store state + outbox[id] = { messages, tokensGenerated: false }
 *   if not tokensGenerated: create a token per outgoing message; store tokensGenerated = true
 *   dispatch the messages
 *   delete the incoming token (if still at the version read)  ← before removing the entry
 *   remove the outbox entry
 *
 * - `tokensGenerated` is stored before dispatch: a retry after the messages went out must not
 *   create their tokens again — the receiver may have consumed and deleted them already, and a
 *   new token would let it process the same message a second time.
 * - The token is deleted before the entry is removed: the proof that the message was processed
 *   is the entry (while it exists) or the missing token, never neither.
 * - Load first, for the same race as the inbox's: a copy that saw the token before another copy
 *   deleted it also loaded the document before that copy wrote, so its own write conflicts.
 */
export class TokenBased<S> extends DocumentStrategy<S> {
  private readonly tokens: TokenStore;

  constructor(options: DocumentStrategyOptions<S> & { readonly tokens: TokenStore }) {
    super(options);
    this.tokens = options.tokens;
    this.outgoing = tokenSender(this.tokens);
  }

  protected override readonly outgoing: OutgoingMiddleware;

  protected async process(delivery: Delivery, next: () => Promise<void>): Promise<void> {
    const { message } = delivery;
    let loaded = await this.load(message);
    let entry: PendingMessages | null | undefined = loaded.doc.outbox?.[message.id];
    if (!entry) {
      const tokenId = message.headers.custom[TOKEN_HEADER];
      if (tokenId === undefined) {
        throw new MissingTokenError(
          `${message.type} ${message.id} has no ${TOKEN_HEADER} header, so this endpoint cannot tell a copy from the original; send it through an endpoint with TokenBased or tokenSender()`,
        );
      }
      const version = await this.step('check-token', message, () => this.tokens.version(tokenId));
      if (version === undefined) return; // the token is gone: processed before
      const result = await this.runHandler(delivery, next, loaded.doc.state);
      entry = {
        operations: result.operations,
        tokensGenerated: false,
        token: { id: tokenId, version },
      };
      loaded = await this.save('commit', message, loaded, {
        ...loaded.doc,
        state: result.state,
        outbox: { ...loaded.doc.outbox, [message.id]: entry },
      });
    }
    if (!entry.tokensGenerated) {
      const operations = entry.operations;
      await this.step('create-tokens', message, () =>
        Promise.all(operations.map((op) => this.tokens.create(tokenOf(op)))),
      );
      entry = { ...entry, tokensGenerated: true };
      loaded = await this.save('tokens-generated', message, loaded, {
        ...loaded.doc,
        outbox: { ...loaded.doc.outbox, [message.id]: entry },
      });
    }
    await this.dispatch(message, entry.operations);
    const token = entry.token;
    if (token) {
      await this.step('delete-token', message, () =>
        this.tokens.deleteIfVersion(token.id, token.version),
      );
    }
    await this.save('cleanup', message, loaded, withoutEntry(loaded.doc, message.id));
  }
}

/**
 * Outgoing middleware for token-based receivers downstream: gives each message a token (its own
 * id). A message a handler sends is captured (its token is created by the strategy, once); one
 * sent from outside a handler gets its token created here, before it is sent.
 */
export function tokenSender(tokens: TokenStore): OutgoingMiddleware {
  return async (context, next) => {
    const { message } = context.operation;
    context.operation = {
      ...context.operation,
      message: {
        ...message,
        headers: {
          ...message.headers,
          custom: { ...message.headers.custom, [TOKEN_HEADER]: message.id },
        },
      },
    };
    if (context.incoming && capturedOf(context.incoming)) return captureOutgoing(context, next);
    await tokens.create(tokenOf(context.operation));
    return next();
  };
}

function tokenOf(operation: OutgoingOperation): string {
  return operation.message.headers.custom[TOKEN_HEADER] ?? operation.message.id;
}

import { randomUUID } from 'node:crypto';
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
import type { Envelope } from '../messages/envelope.ts';
import { ConcurrencyError } from '../store/documentStore.ts';
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
    const store = async (step: string, changed: PendingMessages) => {
      entry = changed;
      loaded = await this.save(step, message, loaded, {
        ...loaded.doc,
        outbox: { ...loaded.doc.outbox, [message.id]: changed },
      });
    };
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
      loaded = { ...loaded, doc: { ...loaded.doc, state: result.state } };
      await store('commit', {
        operations: result.operations,
        tokenIds: planTokens(result.operations),
        token: { id: tokenId, version },
      });
    } else if (!entry.tokensGenerated) {
      // An earlier attempt planned these tokens and may be creating them right now: plan anew.
      await store('plan-tokens', {
        ...entry,
        tokenIds: planTokens(entry.operations),
        abandonedTokenIds: [
          ...(entry.abandonedTokenIds ?? []),
          ...Object.values(entry.tokenIds ?? {}),
        ],
      });
    }
    const planned = entry as PendingMessages;
    const tokenIds = planned.tokenIds ?? {};
    if (!planned.tokensGenerated) {
      await this.step('create-tokens', message, () =>
        Promise.all(Object.values(tokenIds).map((id) => this.tokens.create(id))),
      );
      try {
        await store('tokens-generated', { ...planned, tokensGenerated: true });
      } catch (error) {
        // Someone planned anew meanwhile: these tokens will never be sent, so nobody would
        // delete them. (Only on a conflict: a write that failed some other way may have happened.)
        if (error instanceof ConcurrencyError) {
          await this.discard(message, Object.values(tokenIds));
        }
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
    await this.save('cleanup', message, loaded, withoutEntry(loaded.doc, message.id));
  }

  private async discard(message: Envelope, tokenIds: readonly string[]): Promise<void> {
    if (tokenIds.length === 0) return;
    await this.step('discard-tokens', message, () =>
      Promise.all(tokenIds.map((id) => this.tokens.discard(id))),
    );
  }
}

/**
 * Outgoing middleware for token-based receivers downstream. A message a handler sends is
 * captured: the strategy gives it a token when it dispatches. A message sent from outside a
 * handler gets a token (its own id) created here, before it is sent.
 */
export function tokenSender(tokens: TokenStore): OutgoingMiddleware {
  return async (context, next) => {
    if (context.incoming && capturedOf(context.incoming)) return captureOutgoing(context, next);
    const operation = withToken(context.operation, context.operation.message.id);
    context.operation = operation;
    await tokens.create(operation.message.id);
    return next();
  };
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

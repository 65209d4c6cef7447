import { captureOutgoing } from '../bus/capture.ts';
import type { OutgoingMiddleware } from '../bus/endpoint.ts';
import { deterministicCapture } from './deterministicIds.ts';
import {
  type Delivery,
  DOCUMENT_STEPS,
  type DocumentStep,
  DocumentStrategy,
  type DocumentStrategyOptions,
} from './documentStrategy.ts';

/**
 * Identity-based deduplication: the entity's document lists the ids of the messages applied to
 * it (`meta.processed`: the strategy's data, kept beside the state in the document).
 *
 *   if id ∉ meta.processed { apply; meta.processed += id; store (optimistic concurrency) }
 *   publish what the handler sent — always
 *
 * - The id is stored with the change, in one write: a crash cannot apply a change and forget
 *   that it did (duplicate processing), or remember a change it never stored.
 * - Publishing comes after the store: publishing first would announce a change that may fail to
 *   store (a ghost message).
 * - Publishing happens for a duplicate too: the first attempt may have died between its store
 *   and its publish, and nothing else would ever send those messages (a lost message). The
 *   handler runs again for that, on the stored state, and what it changes is thrown away.
 * - Re-published messages must carry the same ids, or downstream sees new messages: outgoing ids
 *   are deterministic (UUIDv5 of incoming id, endpoint, type and position) unless switched off.
 *   Their bodies are computed again, from the current state: keep them independent of what
 *   later messages changed (derive them from the message), or use an outbox.
 *
 * Known limits: `processed` grows without bound (the inbox fixes that); the handler must be
 * deterministic in what it sends; and it must accept the already-changed state on a duplicate:
 * a handler that rejects it (say, "already placed") fails the duplicate, which then ends in the
 * error queue without re-publishing. The outbox strategies store the messages instead.
 */
/** What identity-based deduplication keeps beside the state: the ids applied, for ever. */
export interface IdentityMetadata {
  readonly processed?: readonly string[];
}

export class IdentityBased<S extends object> extends DocumentStrategy<S, IdentityMetadata> {
  /** The steps a chaos rule can name. */
  static readonly STEPS = DOCUMENT_STEPS;

  protected override readonly outgoing: OutgoingMiddleware;

  constructor(
    options: DocumentStrategyOptions<S, DocumentStep> & { readonly deterministicIds?: boolean },
  ) {
    super(options);
    this.outgoing = options.deterministicIds === false ? captureOutgoing : deterministicCapture();
  }

  protected async process(delivery: Delivery, next: () => Promise<void>): Promise<void> {
    const { message } = delivery;
    const loaded = await this.load(delivery);
    const processed = loaded.doc.meta.processed ?? [];
    const result = await this.runHandler(delivery, next, loaded.doc.state);
    if (!processed.includes(message.id)) {
      await this.save('commit', delivery, loaded, {
        state: result.state,
        meta: { ...loaded.doc.meta, processed: [...processed, message.id] },
      });
    }
    await this.dispatch(message, result.operations);
  }
}

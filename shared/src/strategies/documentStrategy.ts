import { captureOutgoing, startCapturing } from '../bus/capture.ts';
import type { IncomingContext, OutgoingOperation } from '../bus/context.ts';
import type { Endpoint, OutgoingMiddleware } from '../bus/endpoint.ts';
import { PLAIN_STEPS, type StepHook } from '../bus/steps.ts';
import type { Envelope } from '../messages/envelope.ts';
import { ConcurrencyError, type DocumentStore } from '../store/documentStore.ts';

const ENTITY = Symbol('entity being handled');

/**
 * What a document strategy stores for one entity: the handler's state, and beside it what the
 * strategy needs to deduplicate. Each field belongs to some strategies only.
 */
export interface EntityDocument<S> {
  state: S;
  /** Identity-based: the ids of the messages applied to this entity. */
  processed?: string[];
  /**
   * Outbox strategies: the messages an incoming message caused, by its id, until dispatched.
   * The generic outbox keeps `null` once they are out (the id then means "processed").
   */
  outbox?: Record<string, PendingMessages | null>;
  /** Out-of-document outbox: the transaction whose messages wait in the outbox store. */
  txId?: string;
}

export interface PendingMessages {
  readonly operations: readonly OutgoingOperation[];
  /** Token-based: the token of each message, by message id (planned before they are created). */
  readonly tokenIds?: Readonly<Record<string, string>>;
  /** Token-based: the tokens exist; the messages may leave (never create them again). */
  readonly tokensGenerated?: boolean;
  /** Token-based: tokens an earlier attempt planned and may have created; never sent, deleted. */
  readonly abandonedTokenIds?: readonly string[];
  /** Token-based: the incoming message's token, deleted when these messages are out. */
  readonly token?: { readonly id: string; readonly version: number };
}

export interface DocumentStrategyOptions<S> {
  readonly store: DocumentStore<EntityDocument<S>>;
  /** Which entity a message is about. */
  readonly locate: (message: Envelope) => { partition: string; id: string };
  /** The state of an entity that has no document yet. */
  readonly initial: (message: Envelope) => S;
  /** Every step that touches shared state runs through it (chaos, the interleaving explorer). */
  readonly steps?: StepHook;
  /** A conflicting write starts the delivery over, at most this many times. Default 20. */
  readonly maxConflicts?: number;
}

/** The entity the handler is working on: change `state` in place; the strategy stores it. */
export function entity<S>(context: { readonly items: Map<string | symbol, unknown> }): {
  state: S;
} {
  const current = context.items.get(ENTITY) as { state: S } | undefined;
  if (!current) {
    throw new Error('no entity: is a document strategy installed on this endpoint?');
  }
  return current;
}

/** What a strategy needs of a delivery (tests and the interleaving explorer build one by hand). */
export type Delivery = Pick<IncomingContext, 'message' | 'items'>;

export interface Loaded<S> {
  readonly partition: string;
  readonly id: string;
  readonly doc: EntityDocument<S>;
  readonly version: number;
}

/**
 * The part every document strategy shares: load the entity's document, run the handler on a
 * copy of its state while capturing what it sends, store with optimistic concurrency, dispatch
 * stored messages. Each strategy orders these steps its own way, in `process`.
 */
export abstract class DocumentStrategy<S> {
  protected readonly steps: StepHook;
  private dispatcher: ((operations: readonly OutgoingOperation[]) => Promise<void>) | undefined;
  private installedOn: Endpoint | undefined;

  constructor(protected readonly options: DocumentStrategyOptions<S>) {
    this.steps = options.steps ?? PLAIN_STEPS;
  }

  /** Installs the strategy on an endpoint (its incoming and outgoing middleware). */
  use(endpoint: Endpoint): Endpoint {
    if (this.installedOn && this.installedOn !== endpoint) {
      throw new Error(
        `this strategy is installed on ${this.installedOn.name} already: make one per endpoint`,
      );
    }
    this.installedOn = endpoint;
    this.dispatcher = (operations) => endpoint.dispatch(operations);
    return endpoint.use({
      incoming: (context, next) => this.handle(context, next),
      outgoing: this.outgoing,
    });
  }

  /** Where dispatched messages go when there is no endpoint (the interleaving explorer). */
  dispatchTo(dispatcher: (operations: readonly OutgoingOperation[]) => Promise<void>): this {
    this.dispatcher = dispatcher;
    return this;
  }

  protected readonly outgoing: OutgoingMiddleware = captureOutgoing;

  /** One delivery. A write that loses a race starts it over: the other writer's change counts. */
  async handle(delivery: Delivery, next: () => Promise<void>): Promise<void> {
    const maxConflicts = this.options.maxConflicts ?? 20;
    for (let conflicts = 0; ; conflicts++) {
      try {
        return await this.process(delivery, next);
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || conflicts >= maxConflicts) throw error;
      }
    }
  }

  protected abstract process(delivery: Delivery, next: () => Promise<void>): Promise<void>;

  protected step<T>(name: string, message: Envelope, work: () => Promise<T>): Promise<T> {
    return this.steps.around(name, message, work);
  }

  protected async load(message: Envelope): Promise<Loaded<S>> {
    const { partition, id } = this.options.locate(message);
    const { value, version } = await this.step('load', message, () =>
      this.options.store.load(partition, id),
    );
    return {
      partition,
      id,
      doc: value ?? { state: this.options.initial(message) },
      version,
    };
  }

  /** Writes `doc` if nobody wrote since `loaded`; else a {@link ConcurrencyError}. */
  protected async save(
    step: string,
    message: Envelope,
    loaded: Loaded<S>,
    doc: EntityDocument<S>,
  ): Promise<Loaded<S>> {
    const version = await this.step(step, message, () =>
      this.options.store.save(loaded.partition, loaded.id, doc, loaded.version),
    );
    return { ...loaded, doc, version };
  }

  /**
   * Runs the handler on a copy of `state` and keeps what it sends instead of sending it. The
   * copy matters: a handler that fails halfway must not leave a half-changed state behind.
   */
  protected async runHandler(
    delivery: Delivery,
    next: () => Promise<void>,
    state: S,
  ): Promise<{ state: S; operations: OutgoingOperation[] }> {
    const working = { state: structuredClone(state) };
    delivery.items.set(ENTITY, working);
    const operations = startCapturing(delivery);
    await next();
    return { state: working.state, operations };
  }

  /**
   * Runs the handler and stores its state together with an outbox entry of what it sent, in one
   * write (the commit of the outbox strategies). `entry` adds fields to the entry.
   */
  protected async handleIntoOutbox(
    delivery: Delivery,
    next: () => Promise<void>,
    loaded: Loaded<S>,
    entry: (operations: readonly OutgoingOperation[]) => PendingMessages = (operations) => ({
      operations,
    }),
  ): Promise<{ loaded: Loaded<S>; entry: PendingMessages }> {
    const { message } = delivery;
    const result = await this.runHandler(delivery, next, loaded.doc.state);
    const stored = entry(result.operations);
    const saved = await this.save('commit', message, loaded, {
      ...loaded.doc,
      state: result.state,
      outbox: { ...loaded.doc.outbox, [message.id]: stored },
    });
    return { loaded: saved, entry: stored };
  }

  protected async dispatch(
    message: Envelope,
    operations: readonly OutgoingOperation[],
  ): Promise<void> {
    const dispatcher = this.dispatcher;
    if (!dispatcher) throw new Error('call use(endpoint) before handling messages');
    if (operations.length === 0) return;
    await this.step('dispatch', message, () => dispatcher(operations));
  }
}

/** `doc` without the outbox entry of `messageId`. */
export function withoutEntry<S>(doc: EntityDocument<S>, messageId: string): EntityDocument<S> {
  const { [messageId]: _gone, ...outbox } = doc.outbox ?? {};
  return { ...doc, outbox };
}

import { captureOutgoing, startCapturing } from '../bus/capture.ts';
import type { IncomingContext, OutgoingOperation } from '../bus/context.ts';
import type { Endpoint, OutgoingMiddleware } from '../bus/endpoint.ts';
import { PLAIN_STEPS, type StepHook } from '../bus/steps.ts';
import type { UnitOfWork } from '../bus/unitOfWork.ts';
import type { Envelope } from '../messages/envelope.ts';
import { ConcurrencyError, type DocumentStore } from '../store/documentStore.ts';

/**
 * The one field of a stored document that holds what a strategy keeps to deduplicate (processed
 * ids, an outbox, a transaction id…). The rest of the document is the business state, as it is:
 * whoever reads an order reads an order's fields, with or without a strategy beside them. The
 * state must be an object with fields (not a list): the strategy's field goes beside them.
 */
export const STRATEGY_FIELD = '$strategy';

/** A document as a strategy stores it: the business state, and its metadata `M` in one field. */
export type StoredDocument<S extends object, M extends object> = S & {
  readonly [STRATEGY_FIELD]?: M;
};

/** The metadata a strategy keeps in `doc`, or undefined (no strategy wrote it). */
export function metadataOf<M extends object>(doc: object | undefined): M | undefined {
  return (doc as { [STRATEGY_FIELD]?: M } | undefined)?.[STRATEGY_FIELD];
}

/** What a strategy works with: the business state and its own metadata, apart. */
export interface EntityDocument<S extends object, M extends object> {
  readonly state: S;
  readonly meta: M;
}

/** The messages an incoming message caused, as an outbox keeps them until they are out. */
export interface PendingMessages {
  readonly operations: readonly OutgoingOperation[];
}

/** The metadata of the strategies that keep an outbox in the document: entries by incoming id. */
export interface OutboxMetadata<E> {
  readonly outbox?: Readonly<Record<string, E>>;
}

/** The steps every document strategy has: load the entity, store it, send what it caused. */
export const DOCUMENT_STEPS = ['load', 'commit', 'dispatch'] as const;
export type DocumentStep = (typeof DOCUMENT_STEPS)[number];

export interface DocumentStrategyOptions<S extends object, Step extends string = string> {
  /**
   * Where the entities are. A function gets the store as one message's unit of work sees it: its
   * steps then know the message (chaos rules can pick it by type or body); it is called with
   * undefined for work outside any message (a cleanup).
   */
  readonly store: DocumentStore<S> | ((work: UnitOfWork | undefined) => DocumentStore<S>);
  /** Which entity a message is about. */
  readonly locate: (message: Envelope) => { partition: string; id: string };
  /** The state of an entity that has no document yet. */
  readonly initial: (message: Envelope) => S;
  /**
   * Every step that touches shared state runs through it (chaos, the interleaving explorer). It
   * must know the strategy's step names (`Step`): a hook for other names is a type error.
   */
  readonly steps?: StepHook<Step>;
  /** A conflicting write starts the delivery over, at most this many times. Default 20. */
  readonly maxConflicts?: number;
}

/** The entity the handler is working on: change `state` in place; the strategy stores it. */
export function entity<S>(context: { readonly work: UnitOfWork }): { state: S } {
  const current = context.work.entity as { state: S } | undefined;
  if (!current) {
    throw new Error('no entity: is a document strategy installed on this endpoint?');
  }
  return current;
}

/** What a strategy needs of a delivery (tests and the interleaving explorer build one by hand). */
export type Delivery = Pick<IncomingContext, 'message' | 'work'>;

export interface Loaded<S extends object, M extends object> {
  readonly partition: string;
  readonly id: string;
  readonly doc: EntityDocument<S, M>;
  readonly version: number;
}

/**
 * The part every document strategy shares: load the entity's document, run the handler on a
 * copy of its state while capturing what it sends, store with optimistic concurrency, dispatch
 * stored messages. Each strategy orders these steps its own way, in `process`, and declares the
 * metadata `M` it keeps beside the state and the names `Step` of its steps.
 */
export abstract class DocumentStrategy<
  S extends object,
  M extends object,
  Step extends string = DocumentStep,
> {
  protected readonly steps: StepHook<Step | DocumentStep>;
  private dispatcher: ((operations: readonly OutgoingOperation[]) => Promise<void>) | undefined;
  private installedOn: Endpoint | undefined;

  constructor(protected readonly options: DocumentStrategyOptions<S, Step | DocumentStep>) {
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
      if (conflicts > 0) delivery.work.restart(); // the lost run's leftovers do not carry over
      try {
        return await this.process(delivery, next);
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || conflicts >= maxConflicts) throw error;
      }
    }
  }

  protected abstract process(delivery: Delivery, next: () => Promise<void>): Promise<void>;

  protected step<T>(
    name: Step | DocumentStep,
    message: Envelope,
    work: () => Promise<T>,
  ): Promise<T> {
    return this.steps.around(name, message, work);
  }

  /** The entities' store, as this delivery's unit of work sees it (none: outside a message). */
  protected storeOf(delivery: Delivery | undefined): DocumentStore<StoredDocument<S, M>> {
    const { store } = this.options;
    return (typeof store === 'function' ? store(delivery?.work) : store) as DocumentStore<
      StoredDocument<S, M>
    >;
  }

  protected async load(delivery: Delivery): Promise<Loaded<S, M>> {
    const { message } = delivery;
    const { partition, id } = this.options.locate(message);
    const { value, version } = await this.step('load', message, () =>
      this.storeOf(delivery).load(partition, id),
    );
    if (value === undefined) {
      return {
        partition,
        id,
        doc: { state: this.options.initial(message), meta: {} as M },
        version,
      };
    }
    const { [STRATEGY_FIELD]: meta, ...state } = value;
    return {
      partition,
      id,
      doc: { state: state as unknown as S, meta: meta ?? ({} as M) },
      version,
    };
  }

  /** Writes `doc` if nobody wrote since `loaded`; else a {@link ConcurrencyError}. */
  protected async save(
    step: Step | DocumentStep,
    delivery: Delivery,
    loaded: Loaded<S, M>,
    doc: EntityDocument<S, M>,
  ): Promise<Loaded<S, M>> {
    const state: unknown = doc.state;
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new TypeError(
        `the state of ${loaded.partition}/${loaded.id} must be an object with fields: the strategy keeps its data in a field beside them (wrap a list in an object, e.g. { items: [...] })`,
      );
    }
    if (Object.hasOwn(state, STRATEGY_FIELD)) {
      throw new TypeError(
        `the state of ${loaded.partition}/${loaded.id} has a field ${STRATEGY_FIELD} of its own: that name belongs to the strategy`,
      );
    }
    const stored = (
      Object.keys(doc.meta).length === 0
        ? { ...doc.state }
        : { ...doc.state, [STRATEGY_FIELD]: doc.meta }
    ) as StoredDocument<S, M>;
    const version = await this.step(step, delivery.message, () =>
      this.storeOf(delivery).save(loaded.partition, loaded.id, stored, loaded.version),
    );
    return { ...loaded, doc, version };
  }

  /** Stores `meta` with the loaded state (the state unchanged). */
  protected saveMeta(
    step: Step | DocumentStep,
    delivery: Delivery,
    loaded: Loaded<S, M>,
    meta: M,
  ): Promise<Loaded<S, M>> {
    return this.save(step, delivery, loaded, { state: loaded.doc.state, meta });
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
    delivery.work.entity = working;
    const operations = startCapturing(delivery);
    await next();
    return { state: working.state, operations };
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

/**
 * The strategies that keep an outbox in the document: their metadata is `{ outbox }`, an entry
 * `E` per incoming message whose messages may not be out yet.
 */
export abstract class OutboxStrategy<
  S extends object,
  E extends PendingMessages | null,
  Step extends string = DocumentStep,
> extends DocumentStrategy<S, OutboxMetadata<E>, Step> {
  /** The outbox entry of `messageId` in `loaded`: undefined when there is none. */
  protected entryOf(loaded: Loaded<S, OutboxMetadata<E>>, messageId: string): E | undefined {
    return loaded.doc.meta.outbox?.[messageId];
  }

  /**
   * Runs the handler and stores its state together with an outbox entry of what it sent, in one
   * write (the commit of the outbox strategies). `entry` makes the entry from what it sent.
   */
  protected async handleIntoOutbox(
    delivery: Delivery,
    next: () => Promise<void>,
    loaded: Loaded<S, OutboxMetadata<E>>,
    entry: (operations: readonly OutgoingOperation[]) => E & PendingMessages,
  ): Promise<{ loaded: Loaded<S, OutboxMetadata<E>>; entry: E & PendingMessages }> {
    const result = await this.runHandler(delivery, next, loaded.doc.state);
    const stored = entry(result.operations);
    const saved = await this.save('commit', delivery, loaded, {
      state: result.state,
      meta: withEntry(loaded.doc.meta, delivery.message.id, stored),
    });
    return { loaded: saved, entry: stored };
  }

  /** Stores the outbox entry of `messageId` as `entry` (the state unchanged). */
  protected saveEntry(
    step: Step | DocumentStep,
    delivery: Delivery,
    loaded: Loaded<S, OutboxMetadata<E>>,
    entry: E,
  ): Promise<Loaded<S, OutboxMetadata<E>>> {
    return this.saveMeta(
      step,
      delivery,
      loaded,
      withEntry(loaded.doc.meta, delivery.message.id, entry),
    );
  }

  /** Stores the document without the outbox entry of the delivery's message. */
  protected removeEntry(
    step: Step | DocumentStep,
    delivery: Delivery,
    loaded: Loaded<S, OutboxMetadata<E>>,
  ): Promise<Loaded<S, OutboxMetadata<E>>> {
    const { [delivery.message.id]: _gone, ...outbox } = loaded.doc.meta.outbox ?? {};
    const { outbox: _all, ...rest } = loaded.doc.meta;
    // An empty outbox leaves no trace in the document.
    const meta = Object.keys(outbox).length === 0 ? rest : { ...rest, outbox };
    return this.saveMeta(step, delivery, loaded, meta);
  }
}

function withEntry<E>(meta: OutboxMetadata<E>, messageId: string, entry: E): OutboxMetadata<E> {
  return { ...meta, outbox: { ...meta.outbox, [messageId]: entry } };
}

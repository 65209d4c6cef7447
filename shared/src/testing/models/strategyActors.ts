import { capture } from '../../bus/capture.ts';
import type { OutgoingOperation } from '../../bus/context.ts';
import type { StepHook } from '../../bus/steps.ts';
import { UnitOfWork } from '../../bus/unitOfWork.ts';
import { type Envelope, newMessageId } from '../../messages/envelope.ts';
import { ConcurrencyError } from '../../store/documentStore.ts';
import { MemoryInbox } from '../../store/inboxStore.ts';
import { MemoryDocumentStore } from '../../store/memoryStores.ts';
import { MemoryTokenStore } from '../../store/tokenStore.ts';
import {
  type Delivery,
  type DocumentStrategy,
  type DocumentStrategyOptions,
  entity,
  metadataOf,
  type OutboxMetadata,
} from '../../strategies/documentStrategy.ts';
import { DocumentOutboxInbox } from '../../strategies/outboxInbox.ts';
import { StateBased } from '../../strategies/stateBased.ts';
import { TOKEN_HEADER, TokenBased } from '../../strategies/tokenBased.ts';
import type { ExploreOptions } from '../interleavingExplorer.ts';
import { stepwise } from '../stepwise.ts';

/**
 * Two copies of one AddItem, each handled by the library's own strategy code over the in-memory
 * stores, for the interleaving explorer: every order of their steps, with crashes injected.
 */
export interface StrategyStores {
  readonly documents: MemoryDocumentStore<{ items: number }>;
  readonly inbox: MemoryInbox;
  readonly tokens: MemoryTokenStore;
  /** Ids of the ItemAdded messages dispatched, in order. */
  readonly sent: string[];
  /** What the receiver of ItemAdded processed: by token, or deduplicating by id. */
  readonly downstream: string[];
  /** The tokens the messages sent carried. */
  readonly sentTokens: string[];
  /** Copies that lost every race they ran and gave up (a real delivery is retried later). */
  gaveUp: number;
  /** A copy crashed and started over. */
  crashed: boolean;
}

const MESSAGE: Envelope = {
  id: 'add-item-1',
  type: 'AddItem',
  body: { orderId: 'o1' },
  headers: {
    conversationId: 'c1',
    causationId: undefined,
    sendingEndpoint: 'frontend',
    sentAt: '2026-01-01T00:00:00.000Z',
    deliveryCount: 1,
    custom: { [TOKEN_HEADER]: 'token-add-item-1' },
  },
};

export type ExploredStrategy = 'outbox + inbox' | 'token-based' | 'state-based';

function strategyFor(
  kind: ExploredStrategy,
  stores: StrategyStores,
  steps: StepHook,
  maxConflicts: number,
): DocumentStrategy<{ items: number }, object, string> {
  const options: DocumentStrategyOptions<{ items: number }> = {
    store: stores.documents,
    locate: () => ({ partition: 'orders', id: 'o1' }),
    initial: () => ({ items: 0 }),
    steps,
    // Two copies can keep invalidating each other's writes for as long as a scheduler wants;
    // after a few conflicts a copy gives up, as a delivery would, to be retried later.
    maxConflicts,
  };
  const strategy =
    kind === 'token-based'
      ? new TokenBased({
          ...options,
          tokens: stores.tokens,
          endpoint: 'orders',
          subscribers: { ItemAdded: ['billing'] },
        })
      : kind === 'state-based'
        ? new StateBased(options)
        : new DocumentOutboxInbox({ ...options, inbox: stores.inbox });
  return strategy.dispatchTo(async (operations) => {
    for (const { message } of operations) {
      stores.sent.push(message.id);
      // The receiver takes it at once. Token-based: only while its token exists, then deletes it.
      if (kind === 'token-based') {
        const token = `${message.headers.custom[TOKEN_HEADER]}@billing`;
        stores.sentTokens.push(token);
        const version = await stores.tokens.version(token);
        if (version === undefined) continue;
        await stores.tokens.deleteIfVersion(token, version);
        stores.downstream.push(message.id);
      } else if (!stores.downstream.includes(message.id)) {
        stores.downstream.push(message.id);
      }
    }
  });
}

/**
 * The handler: one more item, one ItemAdded — with a new id each time it runs, except for the
 * state-based strategy, which needs a deterministic handler (it runs it again for a copy, and
 * refuses one that sends something else the second time).
 */
async function addItem(delivery: Delivery, deterministic: boolean): Promise<void> {
  entity<{ items: number }>(delivery).state.items++;
  const operation: OutgoingOperation = {
    message: {
      ...MESSAGE,
      id: deterministic ? `${MESSAGE.id}/ItemAdded` : newMessageId(),
      type: 'ItemAdded',
      headers: { ...MESSAGE.headers, causationId: MESSAGE.id, custom: {} },
    },
    destination: { kind: 'publish', type: 'ItemAdded' },
  };
  capture(delivery, operation);
}

export function twoCopiesThrough(
  kind: ExploredStrategy,
  bounds: { crashes: number; conflicts: number },
): ExploreOptions<StrategyStores> {
  const copy = stepwise<StrategyStores>(async (stores, steps, attempt) => {
    if (attempt > 1) stores.crashed = true;
    const delivery: Delivery = { message: MESSAGE, work: new UnitOfWork(MESSAGE) };
    try {
      await strategyFor(kind, stores, steps, bounds.conflicts).handle(delivery, () =>
        addItem(delivery, kind === 'state-based'),
      );
    } catch (error) {
      if (!(error instanceof ConcurrencyError)) throw error;
      stores.gaveUp++;
    }
  });
  // Safety holds in every execution; completion only where no copy gave up (else a retry would
  // come, which this exploration does not run).
  const gaveUp = (s: StrategyStores) => s.gaveUp > 0;
  const state = async (s: StrategyStores) => (await s.documents.load('orders', 'o1')).value;
  return {
    stores: () => {
      const tokens = new MemoryTokenStore();
      void tokens.create('token-add-item-1@orders'); // the sender made it before sending
      return {
        documents: new MemoryDocumentStore(),
        inbox: new MemoryInbox(),
        tokens,
        sent: [],
        downstream: [],
        sentTokens: [],
        gaveUp: 0,
        crashed: false,
      };
    },
    actors: [
      { name: 'copy 1', run: copy },
      // Crashing copy 2 instead would explore the same executions, mirrored.
      { name: 'copy 2', run: copy, crashes: false },
    ],
    maxFailures: bounds.crashes,
    invariants: [
      {
        name: 'processed at most once',
        holds: async (s) => ((await state(s))?.items ?? 0) <= 1,
      },
      {
        name: 'processed once',
        holds: async (s) => gaveUp(s) || (await state(s))?.items === 1,
      },
      {
        name: 'no ghost messages: nothing sent for a change that was not stored',
        holds: async (s) => s.sent.length === 0 || (await state(s))?.items === 1,
      },
      { name: 'no lost messages', holds: (s) => gaveUp(s) || s.sent.length > 0 },
      {
        name: 'the receiver processes ItemAdded at most once',
        holds: (s) => s.downstream.length <= 1,
      },
      {
        name: 'the receiver processes ItemAdded once',
        holds: (s) => gaveUp(s) || s.downstream.length === 1,
      },
      {
        name: 'consistent output (every copy sent has the stored id)',
        holds: (s) => new Set(s.sent).size === 1,
      },
      {
        name: 'nothing left in the document',
        holds: async (s) =>
          gaveUp(s) ||
          Object.keys(metadataOf<OutboxMetadata<unknown>>(await state(s))?.outbox ?? {}).length ===
            0,
      },
      {
        // A crash in the middle of a race may leave a token nobody was sent (a stray, harmless);
        // a token of a message that was sent, or the incoming one, must never stay.
        name: 'tokens bounded: none left once every message is processed',
        holds: async (s) => {
          if (gaveUp(s) || kind !== 'token-based') return true;
          if (!s.crashed) return (await s.tokens.count()) === 0;
          const left = ['token-add-item-1@orders', ...s.sentTokens];
          const versions = await Promise.all(left.map((id) => s.tokens.version(id)));
          return versions.every((v) => v === undefined);
        },
      },
    ],
  };
}

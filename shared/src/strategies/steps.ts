import { DOCUMENT_OUTBOX_STEPS } from './documentOutbox.ts';
import { DOCUMENT_STEPS } from './documentStrategy.ts';
import { OUTBOX_INBOX_STEPS } from './outboxInbox.ts';
import { OUT_OF_DOCUMENT_STEPS } from './outOfDocumentOutbox.ts';
import { SqlOutboxInbox } from './sqlOutboxInbox.ts';
import { TOKEN_STEPS } from './tokenBased.ts';

/** Every step name of every strategy in this folder. */
export type StrategyStep =
  | (typeof DOCUMENT_STEPS)[number]
  | (typeof DOCUMENT_OUTBOX_STEPS)[number]
  | (typeof OUTBOX_INBOX_STEPS)[number]
  | (typeof OUT_OF_DOCUMENT_STEPS)[number]
  | (typeof TOKEN_STEPS)[number]
  | (typeof SqlOutboxInbox.STEPS)[number];

/** The names a chaos rule can give a strategy's step, each once. */
export const STRATEGY_STEPS: readonly StrategyStep[] = [
  ...new Set<StrategyStep>([
    ...DOCUMENT_STEPS,
    ...DOCUMENT_OUTBOX_STEPS,
    ...OUTBOX_INBOX_STEPS,
    ...OUT_OF_DOCUMENT_STEPS,
    ...TOKEN_STEPS,
    ...SqlOutboxInbox.STEPS,
  ]),
];

import { describe, expect, it } from 'vitest';
import { type CheckResult, checkModel, formatTrace } from '../src/testing/modelChecker.ts';
import {
  ack,
  at,
  commitChange,
  everyMessageHandled,
  HANDLER_INVARIANTS,
  HANDLER_VARIANTS,
  type HandlerState,
  type HandlerVariant,
  handlerModel,
  messageHandlerModel,
  moveTo,
  publish,
} from '../src/testing/models/messageHandler.ts';
import { type OutboxInboxState, outboxInboxModel } from '../src/testing/models/outboxInbox.ts';

const showHandler = (s: HandlerState) =>
  `worker=${s.worker.step.padEnd(9)} applied=${JSON.stringify(s.applied)} sent=${JSON.stringify(
    s.sent.map((m) => m.id),
  )} queue=${JSON.stringify(s.queue.map((d) => `${d.id}×${d.attempts}`))} error=${JSON.stringify(s.errorQueue)}`;

const showOutboxInbox = (s: OutboxInboxState) =>
  `doc=v${s.doc.version} applied=${s.doc.applied} outbox=${s.doc.outbox ?? '-'} inbox=${s.inbox} sent=${s.sent.length} workers=${s.workers.map((w) => w.pc).join(' | ')}`;

/** Prints the counterexample (the test output is where an attendee reads it) and returns it. */
function report<S>(result: CheckResult<S>, show: (s: S) => string): CheckResult<S> {
  console.log(
    `${formatTrace(result, show)}\n(${result.distinctStates} distinct states, depth ${result.depth})`,
  );
  return result;
}

describe('model check: message handler', () => {
  const counterexamples: [HandlerVariant, keyof typeof HANDLER_INVARIANTS, string][] = [
    [
      'publish-before-store',
      'no ghost messages',
      'the message went out, the change never committed',
    ],
    [
      'store-before-publish',
      'no lost messages',
      'the change committed, the redelivery skipped the publish',
    ],
    ['atomic-without-dedup', 'no duplicate processing', 'the redelivery applied the change again'],
    [
      'fresh-outgoing-ids',
      'consistent output',
      'the retry published the same message under a new id',
    ],
  ];

  for (const [variant, invariant, story] of counterexamples) {
    it(`${variant}: "${invariant}" is violated (${story})`, () => {
      const result = report(
        checkModel(messageHandlerModel(variant, [HANDLER_INVARIANTS[invariant]])),
        showHandler,
      );
      expect(result.ok).toBe(false);
      expect(result.violation?.invariant).toBe(invariant);
      const last = result.violation?.trace.at(-1)?.state as HandlerState;
      expect(HANDLER_INVARIANTS[invariant].holds(last)).toBe(false);
    });
  }

  it('final algorithm (deduplicate on stored state, outgoing ids from the stored record): every invariant holds', () => {
    const result = report(
      checkModel(messageHandlerModel('final', undefined, { messages: ['m1', 'm2'], failures: 3 })),
      showHandler,
    );
    expect(result.ok).toBe(true);
    expect(result.distinctStates).toBeGreaterThan(100); // failures really were explored
  });

  it('a handler written elsewhere is checked as the variants are: the same steps, the same states', () => {
    const bounds = { messages: ['m1', 'm2'], failures: 3 };
    const variant = checkModel(messageHandlerModel('final', undefined, bounds));
    const written = checkModel(
      handlerModel('written', HANDLER_VARIANTS.final, Object.values(HANDLER_INVARIANTS), bounds),
    );
    expect(written.ok).toBe(true);
    expect(written.distinctStates).toBe(variant.distinctStates);
    expect(written.transitions).toBe(variant.transitions);
  });

  it('"every message handled": a handler that only acks breaks none of the four, and breaks it', () => {
    const lazy = [{ name: 'ack', next: at('received', ack) }];
    const four = Object.values(HANDLER_INVARIANTS);
    expect(checkModel(handlerModel('lazy', lazy, four)).ok).toBe(true);
    const result = checkModel(handlerModel('lazy', lazy, [everyMessageHandled(['m1'])]));
    expect(result.violation?.invariant).toBe('every message handled');
    expect(result.violation?.trace.map((step) => step.action)).toEqual([
      'initial',
      'receive',
      'ack',
    ]);
    // …and the final variant handles every message.
    const final = messageHandlerModel('final', [everyMessageHandled(['m1', 'm2'])], {
      messages: ['m1', 'm2'],
      failures: 3,
    });
    expect(checkModel(final).ok).toBe(true);
  });

  it('a handler stuck half way handles nothing either', () => {
    const stuck = [
      {
        name: 'commit',
        next: at('received', (s) => moveTo(publish(commitChange(s), 'x'), 'committed')),
      },
    ];
    // With no failure left to end the attempt, the worker stays where it stopped.
    const result = checkModel(
      handlerModel('stuck', stuck, [everyMessageHandled(['m1'])], { failures: 0 }),
    );
    expect(result.violation?.invariant).toBe('every message handled');
  });

  it('outbox + inbox with two workers, entity loaded before the inbox check: every invariant holds', () => {
    const result = report(
      checkModel(outboxInboxModel({ inboxFirst: false, failures: 2 })),
      showOutboxInbox,
    );
    expect(result.ok).toBe(true);
    expect(result.distinctStates).toBeGreaterThan(1000);
  });

  it('outbox + inbox with two workers, inbox checked first: "no duplicate processing" is violated', () => {
    const result = report(
      checkModel(outboxInboxModel({ inboxFirst: true, failures: 0 })),
      showOutboxInbox,
    );
    expect(result.violation?.invariant).toBe('no duplicate processing');
    // The flaw needs no failure at all: the second copy checks the inbox, the first finishes and
    // cleans up, then the second loads a clean entity and processes again.
    const actions = result.violation?.trace.map((step) => step.action) ?? [];
    expect(actions.some((a) => a.includes('crash'))).toBe(false);
  });
});

describe('model checker', () => {
  const counter = (limit: number) => ({
    name: 'counter',
    initial: [0],
    actions: [{ name: 'inc', next: (n: number) => (n < limit ? [n + 1] : []) }],
  });

  it('finds the shortest trace to a violation', () => {
    const result = checkModel({
      ...counter(10),
      actions: [
        { name: 'inc', next: (n: number) => (n < 10 ? [n + 1] : []) },
        { name: 'jump', next: (n: number) => (n === 0 ? [5] : []) },
      ],
      invariants: [{ name: 'below 6', holds: (n: number) => n < 6 }],
    });
    expect(result.violation?.trace.map((s) => s.action)).toEqual(['initial', 'jump', 'inc']);
  });

  it('checks terminal invariants only where no action is enabled', () => {
    const result = checkModel({
      ...counter(3),
      invariants: [{ name: 'ends at 4', when: 'terminal' as const, holds: (n: number) => n === 4 }],
    });
    expect(result.violation?.trace.at(-1)?.state).toBe(3);
    expect(result.distinctStates).toBe(4);
  });

  it('is deterministic: the same model gives the same result', () => {
    const run = () => checkModel(outboxInboxModel({ inboxFirst: true, failures: 1 }));
    const [a, b] = [run(), run()];
    expect(a.distinctStates).toBe(b.distinctStates);
    expect(a.violation?.trace).toEqual(b.violation?.trace);
  });
});

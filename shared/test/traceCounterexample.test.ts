import { describe, expect, it } from 'vitest';
import { formatCounterexample } from '../src/testing/counterexample.ts';
import { checkModel, formatTrace } from '../src/testing/modelChecker.ts';
import {
  at,
  HANDLER_INVARIANTS,
  type HandlerInvariantName,
  type HandlerState,
  type HandlerVariant,
  handlerModel,
  messageHandlerModel,
  moveTo,
  publish,
} from '../src/testing/models/messageHandler.ts';
import {
  counterexampleOfTrace,
  handlerCounterexample,
} from '../src/testing/traceCounterexample.ts';

/** The counterexample of a variant under one invariant, as text without the timing. */
function text(variant: HandlerVariant, invariant: HandlerInvariantName): string[] {
  const result = checkModel(messageHandlerModel(variant, [HANDLER_INVARIANTS[invariant]]));
  const example = handlerCounterexample(result);
  if (!example) throw new Error(`${variant} should break "${invariant}"`);
  const { explored: _timing, ...withoutTiming } = example;
  return formatCounterexample(withoutTiming).split('\n');
}

describe('model checker traces as counterexamples people can read', () => {
  it('a step that acts on another participant, and one the actor takes alone, per transition', () => {
    const result = checkModel({
      name: 'counter',
      initial: [0],
      actions: [{ name: 'inc', next: (n: number) => (n < 3 ? [n + 1] : []) }],
      invariants: [{ name: 'below 2', holds: (n: number) => n < 2 }],
    });
    const example = counterexampleOfTrace(result, {
      title: 'a counter',
      describe: (before, after, action) => [
        { actor: 'counter', to: 'store', action: `${action}: ${before} → ${after}` },
      ],
      outcome: (last, invariant) => `${invariant} broken at ${last}`,
    });
    expect(example?.steps).toEqual([
      { actor: 'counter', to: 'store', action: 'inc: 0 → 1' },
      { actor: 'counter', to: 'store', action: 'inc: 1 → 2' },
    ]);
    expect(example?.outcome).toBe('below 2 broken at 2');
    expect(example?.explored).toMatch(/^3 states in \d+ ms$/);
  });

  it('no counterexample when every invariant holds', () => {
    expect(handlerCounterexample(checkModel(messageHandlerModel('final')))).toBeUndefined();
  });

  it('the ghost: published, then every attempt fails before the commit', () => {
    expect(text('publish-before-store', 'no ghost messages')).toEqual([
      '"no ghost messages" is broken — message handler (publish-before-store): 1 message, up to 2 failures:',
      '  1. broker → handler: delivers (AddItem m1)',
      '  2. handler → broker: publishes ItemAdded out-1 (AddItem m1)',
      '  3. handler: crashes after the publish (AddItem m1)',
      '  4. broker → handler: delivers again, attempt 2 (AddItem m1)',
      '  5. handler: crashes before doing anything (AddItem m1)',
      '  6. broker → error queue: gives up after 2 attempts (AddItem m1)',
      '  ⇒ ItemAdded out-1 went out for AddItem m1, whose change was never committed, and AddItem m1 is in the error queue',
    ]);
  });

  it('the lost message: committed, crashed, and the redelivery skips the publish', () => {
    expect(text('store-before-publish', 'no lost messages')).toEqual([
      '"no lost messages" is broken — message handler (store-before-publish): 1 message, up to 2 failures:',
      '  1. broker → handler: delivers (AddItem m1)',
      '  2. handler → database: finds it new (AddItem m1)',
      '  3. handler → database: commits the change (AddItem m1)',
      '  4. handler: crashes after the commit (AddItem m1)',
      '  5. broker → handler: delivers again, attempt 2 (AddItem m1)',
      '  6. handler → database: finds it processed already (AddItem m1)',
      '  7. handler: skip: processed — changes nothing (AddItem m1)',
      '  8. handler → broker: acks (AddItem m1)',
      '  ⇒ the change of AddItem m1 is committed, AddItem m1 is acked, and no ItemAdded for it ever went out',
    ]);
  });

  it('the duplicate and the inconsistent output name the message and what went out', () => {
    expect(text('atomic-without-dedup', 'no duplicate processing')).toContain(
      '  6. handler → database: commits the change again (2×) (AddItem m1)',
    );
    expect(text('atomic-without-dedup', 'no duplicate processing').at(-1)).toBe(
      '  ⇒ the change of AddItem m1 was committed 2 times',
    );
    expect(text('fresh-outgoing-ids', 'consistent output').at(-1)).toBe(
      '  ⇒ AddItem m1 went out as ItemAdded out-1 and ItemAdded out-2: downstream cannot tell they are copies of one message',
    );
  });

  it('the outcome of a lost message says where it is: acked, in the error queue, or still handled', () => {
    const lostAlways = { ...HANDLER_INVARIANTS['no lost messages'], when: 'always' as const };
    const midway = handlerCounterexample(
      checkModel(messageHandlerModel('store-before-publish', [lostAlways])),
    );
    expect(midway?.outcome).toBe(
      'the change of AddItem m1 is committed, no ItemAdded for it has gone out yet, and the handler is still handling AddItem m1 (not acked yet)',
    );
    const noExemption = {
      name: 'no lost messages',
      when: 'terminal' as const,
      holds: (s: HandlerState) =>
        Object.keys(s.applied).every((i) => s.sent.some((m) => m.input === i)),
    };
    const parked = handlerCounterexample(
      checkModel(messageHandlerModel('store-before-publish', [noExemption])),
    );
    expect(parked?.outcome).toBe(
      'the change of AddItem m1 is committed, no ItemAdded for it went out, and AddItem m1 is in the error queue: someone can send it back',
    );
    const ghostAlways = { ...HANDLER_INVARIANTS['no ghost messages'], when: 'always' as const };
    expect(
      handlerCounterexample(checkModel(messageHandlerModel('publish-before-store', [ghostAlways])))
        ?.outcome,
    ).toBe(
      'ItemAdded out-1 went out for AddItem m1, whose change is not committed yet, and the handler is still handling AddItem m1 (not acked yet)',
    );
  });

  it('an ItemAdded published with no id says so', () => {
    const steps = [
      {
        name: 'publish without an id',
        next: at('received', (s: HandlerState) => moveTo(publish(s, ''), 'published')),
      },
    ];
    const result = checkModel(
      handlerModel('no id', steps, [{ name: 'nothing sent', holds: (s) => s.sent.length === 0 }]),
    );
    const example = handlerCounterexample(result);
    expect(example?.steps.at(-1)?.action).toBe('publishes ItemAdded with no id');
    expect(example?.outcome).toBe(
      'AddItem m1: committed 0×, published ItemAdded with no id, still in the queue',
    );
  });

  it('names the messages as told, and stores the outgoing id of the final handler', () => {
    const result = checkModel(
      messageHandlerModel(
        'final',
        [{ name: 'nothing published', holds: (s) => s.sent.length === 0 }],
        {},
      ),
    );
    const example = handlerCounterexample(result, {
      input: 'PlaceOrder',
      output: 'OrderPlaced',
      handler: 'orders',
      title: 'orders',
    });
    expect(example?.steps.map((s) => `${s.actor} → ${s.to}: ${s.action} (${s.message})`)).toEqual([
      'broker → orders: delivers (PlaceOrder m1)',
      'orders → database: commits the change and the outgoing id out-1 (PlaceOrder m1)',
      'orders → broker: publishes OrderPlaced out-1 (PlaceOrder m1)',
    ]);
    // An invariant it does not know: the outcome sums up each message.
    expect(example?.outcome).toBe(
      'PlaceOrder m1: committed 1×, published OrderPlaced out-1, still in the queue',
    );
  });

  it('the old text of a trace still reads the same', () => {
    const result = checkModel(
      messageHandlerModel('atomic-without-dedup', [HANDLER_INVARIANTS['no duplicate processing']]),
    );
    const lines = formatTrace(result, (s) => `applied=${JSON.stringify(s.applied)}`).split('\n');
    expect(lines[0]).toBe(
      'message handler (atomic-without-dedup): "no duplicate processing" violated after 5 steps:',
    );
    expect(lines.at(-1)).toBe(`   5. ${'commit change + message'.padEnd(24)} applied={"m1":2}`);
  });
});

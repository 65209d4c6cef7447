import path from 'node:path';
import {
  type Action,
  type CheckResult,
  checkModel,
  everyMessageHandled,
  explored,
  formatCounterexample,
  HANDLER_INVARIANTS,
  type HandlerInvariantName,
  type HandlerState,
  type HandlerVariant,
  handlerCounterexample,
  handlerModel,
  type Invariant,
  messageHandlerModel,
} from '@pierogi/shared/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { recordCounterexample, recordHolds } from '../src/counterexamples.ts';
import { ROOT } from '../src/exercises.ts';
import { codeUnderCheck, fileToOpen } from './codeUnderCheck.ts';

/**
 * Check 17 runs the library's model checker over the attendee's own model, `src/model.ts`: each
 * of their four invariants against the library's handler variant that breaks it (it must find
 * the flaw, with a shortest trace as long as the reference statement's) and against the final
 * algorithm (it must hold there); then their handler's steps under their invariants and the
 * reference ones. The last counterexample found in their handler goes to the page.
 */
const MODEL = 'src/model.ts';

/** Each invariant, the variant whose flaw it finds, and the length of the shortest trace to it. */
const FLAWS: readonly {
  readonly invariant: HandlerInvariantName;
  readonly variant: HandlerVariant;
  readonly steps: number;
  readonly flaw: string;
  readonly meaning: string;
}[] = [
  {
    invariant: 'no ghost messages',
    variant: 'publish-before-store',
    steps: 5,
    flaw: 'publishes the ItemAdded, then stores the order',
    meaning:
      'no ItemAdded is out for an AddItem whose change was never committed, once nothing more will happen',
  },
  {
    invariant: 'no lost messages',
    variant: 'store-before-publish',
    steps: 8,
    flaw: 'stores first, and skips everything, the publish included, for an AddItem processed already',
    meaning:
      'once nothing more will happen, every AddItem whose change is committed has an ItemAdded out, or is in the error queue',
  },
  {
    invariant: 'no duplicate processing',
    variant: 'atomic-without-dedup',
    steps: 5,
    flaw: 'commits the change and the ItemAdded together, without asking whether the AddItem was processed',
    meaning: 'no change is ever committed twice',
  },
  {
    invariant: 'consistent output',
    variant: 'fresh-outgoing-ids',
    steps: 7,
    flaw: 'stores once and always publishes, under an id made fresh on every attempt',
    meaning: 'every ItemAdded sent for one AddItem has the same id',
  },
];

/** The final algorithm and the attendee's handler are checked with these bounds. */
const BOUNDS = { messages: ['m1', 'm2'], failures: 3, maxAttempts: 3 } as const;
const BOUNDS_TEXT = '2 AddItems, up to 3 failures, 3 attempts each';
/** The bounds the flaws are found in: one AddItem, up to two failures, two attempts. */
const SMALL = { messages: ['m1'], failures: 2, maxAttempts: 2 } as const;
const SMALL_TEXT = '1 AddItem, up to 2 failures, 2 attempts';
/** The final algorithm has 914 states in these bounds; fewer means failures went unexplored. */
const MIN_STATES = 500;

interface AttendeeModel {
  readonly invariants: readonly Invariant<HandlerState>[];
  readonly handler: readonly Action<HandlerState>[];
}

const text = (result: CheckResult<HandlerState>, title?: string) => {
  const example = handlerCounterexample(result, title ? { title } : {});
  return example ? formatCounterexample(example) : '';
};

describe('17 model checking', () => {
  let model: Partial<AttendeeModel> = {};
  let loadError: string | undefined;
  beforeAll(async () => {
    try {
      model = (await import(path.join(ROOT, codeUnderCheck(), MODEL))) as Partial<AttendeeModel>;
    } catch (error) {
      loadError = `${fileToOpen(MODEL)} does not load: ${error}`;
    }
  });

  const stated = (name: string) => model.invariants?.find((i) => i.name === name);
  const names = () => (model.invariants ?? []).map((i) => `"${i.name}"`).join(', ') || 'none';

  for (const { invariant, variant, steps, flaw, meaning } of FLAWS) {
    it(`"${invariant}" is stated: it finds the flaw of ${variant} in a shortest trace of ${steps} actions, and holds for the final algorithm`, () => {
      expect(loadError, loadError).toBeUndefined();
      const mine = stated(invariant);
      expect(
        mine,
        `${fileToOpen(MODEL)} states no invariant named "${invariant}" in \`invariants\` (it states: ${names()}). Add it: ${meaning}`,
      ).toBeDefined();
      if (!mine) return;
      expect(
        mine.holds === HANDLER_INVARIANTS[invariant].holds,
        `"${invariant}" in ${fileToOpen(MODEL)} is the library's own statement: write yours`,
      ).toBe(false);

      const flawed = checkModel(messageHandlerModel(variant, [mine], SMALL));
      if (flawed.ok) {
        const reference = checkModel(
          messageHandlerModel(variant, [HANDLER_INVARIANTS[invariant]], SMALL),
        );
        expect.fail(
          `your "${invariant}" holds in all ${flawed.distinctStates} states of the handler that ${flaw} (${variant}); it should find that handler broken after ${steps} actions of the checker, in a state like the last one here:\n${text(reference)}\nWhat does that last state hold that your \`holds\` lets through? (${fileToOpen(MODEL)})`,
        );
      }
      const found = (flawed.violation?.trace.length ?? 1) - 1;
      expect(
        found,
        `your "${invariant}" finds the handler that ${flaw} (${variant}) broken after ${found} actions of the checker, where the shortest trace to its flaw takes ${steps}: it rejects a state that is still fine.\n${text(flawed)}\n${found < steps ? "Is the last state really broken, or can a later step still put it right? Then check it only when nothing more can happen: `when: 'terminal'`." : `Does it apply in every state (\`when: 'always'\`), or only at the end?`}`,
      ).toBe(steps);

      const final = checkModel(messageHandlerModel('final', [mine], BOUNDS));
      expect(
        final.ok,
        `your "${invariant}" is broken by the final algorithm, which is correct: it rejects a state that is fine (too strict, or checked in every state where it should be checked only at the end).\n${text(final)}`,
      ).toBe(true);
      console.log(`${text(flawed, `the handler that ${flaw} (${variant})`)}\n`);
    });
  }

  it(`the handler in ${MODEL} holds under the four invariants and handles every AddItem, with ${BOUNDS_TEXT}`, async () => {
    expect(loadError, loadError).toBeUndefined();
    expect(
      Array.isArray(model.handler) && Array.isArray(model.invariants),
      `${fileToOpen(MODEL)} exports \`handler\` (the steps, an array of actions) and \`invariants\` (an array)`,
    ).toBe(true);
    const handler = model.handler as readonly Action<HandlerState>[];

    // One AddItem and two failures first (the bounds of the flaws above: short counterexamples),
    // then the bounds of the proof. In each: yours first; then, where yours hold, the reference
    // statements one by one in the order of the exercise; with yours, that every AddItem ends
    // acked with its work done, or in the error queue.
    let last: CheckResult<HandlerState> | undefined;
    for (const [bounds, boundsText] of [
      [SMALL, SMALL_TEXT],
      [BOUNDS, BOUNDS_TEXT],
    ] as const) {
      const title = `the handler in ${MODEL}, ${boundsText}`;
      const run = (invariants: readonly Invariant<HandlerState>[]) =>
        checkModel(handlerModel(title, handler, invariants, bounds));
      const mine = run([...(model.invariants ?? []), everyMessageHandled(bounds.messages)]);
      const reference = mine.ok
        ? FLAWS.map(({ invariant }) => run([HANDLER_INVARIANTS[invariant]])).find((r) => !r.ok)
        : undefined;
      const result = reference ?? mine;
      const example = handlerCounterexample(result, { title });
      if (example) {
        await recordCounterexample(codeUnderCheck(), example);
        const broken = result.violation?.invariant ?? '';
        expect.fail(
          `${
            reference
              ? `your invariants hold, but the handler breaks "${broken}" as the reference states it${stated(broken) ? '' : ' (you have not stated it yet)'}`
              : broken === 'every message handled'
                ? 'an AddItem ends neither acked, with its change committed and its ItemAdded out, nor in the error queue'
                : `the handler breaks "${broken}"`
          }. A shortest counterexample (\`pnpm exercise 17\` shows it as a diagram):\n${formatCounterexample(example)}\nChange the steps of \`handler\` in ${fileToOpen(MODEL)}.`,
        );
      }
      last = mine;
    }
    const result = last as CheckResult<HandlerState>;
    expect(
      result.distinctStates,
      `the checker explored only ${result.distinctStates} states, where the final algorithm has 914: do the steps of \`handler\` take every AddItem from "received" to its ack?`,
    ).toBeGreaterThanOrEqual(MIN_STATES);
    const summary = `the handler in ${MODEL}: every invariant holds, with ${BOUNDS_TEXT} (${explored(result)})`;
    await recordHolds(codeUnderCheck(), summary);
    console.log(summary);
  });
});

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
/**
 * The solution's steps (a commit, a publish, an ack) give about 900 states in these bounds, more
 * steps give more. Far fewer means coarse steps: fewer places for a crash to strike.
 */
const MIN_STATES = 500;

interface AttendeeModel {
  readonly invariants: readonly Invariant<HandlerState>[];
  readonly handler: readonly Action<HandlerState>[];
}

const text = (result: CheckResult<HandlerState>, title?: string) => {
  const example = handlerCounterexample(result, title ? { title } : {});
  return example ? formatCounterexample(example) : '';
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What one transition of the checker does that the counterexample gives a line each. */
function effects(before: HandlerState, after: HandlerState): string[] {
  const done: string[] = [];
  if (Object.entries(after.applied).some(([m, n]) => n > (before.applied[m] ?? 0)))
    done.push('commits the change');
  if (after.sent.length > before.sent.length) done.push('publishes the ItemAdded');
  if (
    after.failuresLeft === before.failuresLeft &&
    after.queue.length < before.queue.length &&
    after.worker.step === 'idle'
  )
    done.push('acks');
  return done;
}

/**
 * The length of a trace in actions of the checker, and in the numbered lines of its
 * counterexample where the two differ: one action can be more than one line.
 */
function traceLength(result: CheckResult<HandlerState>): string {
  const trace = result.violation?.trace ?? [];
  const actions = Math.max(0, trace.length - 1);
  const lines = handlerCounterexample(result)?.steps.length ?? actions;
  if (lines === actions) return `${plural(actions, 'action')} of the checker`;
  const why = new Set<string>();
  trace.forEach((step, i) => {
    const before = trace[i - 1]?.state;
    if (!before) return;
    if (step.state.failuresLeft < before.failuresLeft) {
      if (step.state.errorQueue.length > before.errorQueue.length)
        why.add(
          'a crash on the last attempt is one action and two lines, the crash and the broker giving up',
        );
    } else if (effects(before, step.state).length > 1) {
      why.add('one step that does several things (commits, publishes, acks) is a line for each');
    }
  });
  return `${plural(actions, 'action')} of the checker (${plural(lines, 'numbered line')} below${why.size ? `: ${[...why].join('; ')}` : ''})`;
}

/** A state of the model in a line, for a message about it. */
function describeState(s: HandlerState): string {
  const worker =
    s.worker.step === 'idle'
      ? 'the worker is idle (it handles no AddItem)'
      : `the worker is at "${s.worker.step}", handling AddItem ${s.worker.input}`;
  const queue = s.queue.map((d) => `${d.id} (${plural(d.attempts, 'attempt')} so far)`);
  return `${worker}; queue: ${queue.join(', ') || 'empty'}; committed: ${JSON.stringify(s.applied)}; sent: ${JSON.stringify(s.sent.map((m) => `${m.input}→${m.id || "''"}`))}; error queue: ${JSON.stringify(s.errorQueue)}`;
}

/** A step or an invariant of the attendee's model threw: which one, in which state. */
class ModelThrew extends Error {
  constructor(
    readonly explanation: string,
    cause: unknown,
  ) {
    super(explanation, { cause });
  }
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The attendee's steps, each reporting the state it threw in. */
function guardedSteps(steps: readonly Action<HandlerState>[]): Action<HandlerState>[] {
  return steps.map((step) => ({
    ...step,
    next: (s: HandlerState) => {
      try {
        return step.next(s);
      } catch (error) {
        throw new ModelThrew(
          `the step "${step.name}" of \`handler\` in ${fileToOpen(MODEL)} throws "${reason(error)}" in this state: ${describeState(s)}.\nThe checker tries every step in every state it reaches, the idle worker's included. Write the step as \`at('received', (s) => …)\` (or the worker's step it belongs to): \`at\` runs it only when the worker is there, handling an AddItem.`,
          error,
        );
      }
    },
  }));
}

/** An invariant of the attendee's, reporting the state it threw in. */
function guardedInvariant(invariant: Invariant<HandlerState>): Invariant<HandlerState> {
  return {
    ...invariant,
    holds: (s) => {
      try {
        return invariant.holds(s);
      } catch (error) {
        throw new ModelThrew(
          `your invariant "${invariant.name}" in ${fileToOpen(MODEL)} throws "${reason(error)}" in this state: ${describeState(s)}.\nAn invariant is checked in every state it applies to, the idle worker's included: read the fields of the state (\`s.applied\`, \`s.sent\`, \`s.errorQueue\`…), not the operations about the AddItem being handled (\`isProcessed\`, \`storedOutgoingId\`).`,
          error,
        );
      }
    },
  };
}

/** Runs a check's body; an error thrown by the attendee's model fails it with what threw where. */
async function explaining(body: () => unknown): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof ModelThrew) expect.fail(error.explanation);
    throw error;
  }
}

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
    it(`"${invariant}" is stated: it finds the flaw of ${variant} in a shortest trace of ${steps} actions, and holds for the final algorithm`, () =>
      explaining(() => {
        expect(loadError, loadError).toBeUndefined();
        const theirs = stated(invariant);
        expect(
          theirs,
          `${fileToOpen(MODEL)} states no invariant named "${invariant}" in \`invariants\` (it states: ${names()}). Add it: ${meaning}`,
        ).toBeDefined();
        if (!theirs) return;
        expect(
          theirs.holds === HANDLER_INVARIANTS[invariant].holds,
          `"${invariant}" in ${fileToOpen(MODEL)} is the library's own statement: write yours`,
        ).toBe(false);
        const mine = guardedInvariant(theirs);
        const terminal = mine.when === 'terminal';

        const flawed = checkModel(messageHandlerModel(variant, [mine], SMALL));
        const reference = checkModel(
          messageHandlerModel(variant, [HANDLER_INVARIANTS[invariant]], SMALL),
        );
        if (flawed.ok) {
          expect.fail(
            `your "${invariant}" holds in all ${flawed.distinctStates} states of the handler that ${flaw} (${variant}); it should find that handler broken after ${traceLength(reference)}, in a state like the last one here:\n${text(reference)}\nWhat does that last state hold that your \`holds\` lets through? (${fileToOpen(MODEL)})`,
          );
        }
        const found = (flawed.violation?.trace.length ?? 1) - 1;
        if (found < steps) {
          const parked = flawed.violation?.trace.at(-1)?.state.errorQueue ?? [];
          expect.fail(
            `your "${invariant}" finds the handler that ${flaw} (${variant}) broken after ${traceLength(flawed)}, where the shortest trace to its flaw takes ${steps} actions: it rejects a state that is still fine.\n${text(flawed)}\n${
              terminal
                ? `It is checked only when nothing more can happen already (\`when: 'terminal'\`), so its \`holds\` rejects an end state that is fine.${parked.length > 0 ? ` In that state ${parked.map((m) => `AddItem ${m}`).join(' and ')} ${parked.length === 1 ? 'is' : 'are'} in the error queue: is that lost, or will someone send it back?` : ' What does the last state hold that is not a flaw?'}`
                : "Is the last state really broken, or can a later step still put it right? Then check it only when nothing more can happen: `when: 'terminal'`."
            }`,
          );
        }
        if (found > steps) {
          expect.fail(
            `your "${invariant}" finds the handler that ${flaw} (${variant}) broken only after ${traceLength(flawed)}, where the shortest trace to its flaw takes ${steps} actions: it lets a broken state through for too long.\n${text(flawed)}\n${
              terminal
                ? `It is checked only when nothing more can happen (\`when: 'terminal'\`), but once this happened no later step can put it right: check it in every state (leave out \`when\`, or \`when: 'always'\`).`
                : `Its \`holds\` lets through a state that is broken already, the last one of this shortest trace:\n${text(reference)}`
            }`,
          );
        }

        const final = checkModel(messageHandlerModel('final', [mine], BOUNDS));
        expect(
          final.ok,
          `your "${invariant}" is broken by the final algorithm, which is correct: it rejects a state that is fine (${terminal ? 'too strict' : 'too strict, or checked in every state where it should be checked only at the end'}).\n${text(final)}`,
        ).toBe(true);
        console.log(`${text(flawed, `the handler that ${flaw} (${variant})`)}\n`);
      }));
  }

  it(`the handler in ${MODEL} holds under the four invariants and handles every AddItem, with ${BOUNDS_TEXT}`, () =>
    explaining(async () => {
      expect(loadError, loadError).toBeUndefined();
      expect(
        Array.isArray(model.handler) && Array.isArray(model.invariants),
        `${fileToOpen(MODEL)} exports \`handler\` (the steps, an array of actions) and \`invariants\` (an array)`,
      ).toBe(true);
      // Each step as written, noting what it does in one action where that is more than one
      // thing: in the model a step is atomic, a crash strikes before it or after it.
      const coarse = new Map<string, Set<string>>();
      const handler = guardedSteps(model.handler as readonly Action<HandlerState>[]).map(
        (step) => ({
          ...step,
          next: (s: HandlerState) => {
            const next = step.next(s);
            for (const after of next) {
              const done = effects(s, after);
              if (done.length > 1) {
                const seen = coarse.get(step.name) ?? new Set<string>();
                for (const effect of done) seen.add(effect);
                coarse.set(step.name, seen);
              }
            }
            return next;
          },
        }),
      );
      const invariants = (model.invariants ?? []).map(guardedInvariant);

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
        const run = (checked: readonly Invariant<HandlerState>[]) =>
          checkModel(handlerModel(title, handler, checked, bounds));
        const mine = run([...invariants, everyMessageHandled(bounds.messages)]);
        const reference = mine.ok
          ? FLAWS.map(({ invariant }) => run([HANDLER_INVARIANTS[invariant]])).find((r) => !r.ok)
          : undefined;
        const result = reference ?? mine;
        const example = handlerCounterexample(result, { title });
        if (example) {
          await recordCounterexample(codeUnderCheck(), example);
          const broken = result.violation?.invariant ?? '';
          // Yours broken where the reference statement holds: the statement, not the steps.
          const suspect =
            !reference &&
            FLAWS.some((f) => f.invariant === broken) &&
            run([HANDLER_INVARIANTS[broken as HandlerInvariantName]]).ok;
          expect.fail(
            `${
              reference
                ? `your invariants hold, but the handler breaks "${broken}" as the reference states it${stated(broken) ? '' : ' (you have not stated it yet)'}`
                : broken === 'every message handled'
                  ? 'an AddItem ends neither acked, with its change committed and its ItemAdded out, nor in the error queue'
                  : `the handler breaks "${broken}"${suspect ? ' as you state it, and holds under the reference statement' : ''}`
            }. A shortest counterexample (\`pnpm exercise 17\` shows it as a diagram):\n${formatCounterexample(example)}\n${suspect ? `Does your "${broken}" reject a state that is fine? Its own check above may say more; if so, change the statement in ${fileToOpen(MODEL)}, not the steps.` : `Change the steps of \`handler\` in ${fileToOpen(MODEL)}.`}`,
          );
        }
        last = mine;
      }
      const result = last as CheckResult<HandlerState>;
      // Holding proves little if a crash can never strike between the commit, the publish and
      // the ack: the shop's database and broker cannot do two of them as one.
      const [name, done] = [...coarse][0] ?? [];
      if (name && done) {
        const together = [...done];
        const list = `${together.slice(0, -1).join(', ')} and ${together.at(-1)}`;
        expect.fail(
          `every invariant holds (${explored(result)}), but the step "${name}" of \`handler\` ${list} in one action. In the model a step is atomic: a crash strikes before it or after it, never inside it, so a crash between them is never explored. The shop cannot promise that: the commit goes to the database, the publish and the ack to the broker, each a call of its own that a crash can come between.${done.has('commits the change') && done.has('publishes the ItemAdded') ? ' (An outbox commits the ItemAdded with the change, but its dispatcher publishes it later, in a step of its own.)' : ''} So the model proves less than the code needs. Make the commit, the publish and the ack a step each, as the starting point of ${fileToOpen(MODEL)} has them (the solution's steps explore about 900 states here).`,
        );
      }
      expect(
        result.distinctStates,
        `every invariant holds, but the checker explored only ${result.distinctStates} states, where the solution's steps (a commit, a publish, an ack) explore about 900: fewer states mean fewer places for a crash to strike. Are some of the steps of \`handler\` coarser than one commit, one publish or one ack each?`,
      ).toBeGreaterThanOrEqual(MIN_STATES);
      const summary = `the handler in ${MODEL}: every invariant holds, with ${BOUNDS_TEXT} (${explored(result)})`;
      await recordHolds(codeUnderCheck(), summary);
      console.log(summary);
    }));
});

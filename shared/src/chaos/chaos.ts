import { EventEmitter } from 'node:events';
import type { IncomingMiddleware } from '../bus/endpoint.ts';
import type { StepHook } from '../bus/steps.ts';
import type { Transport, TransportOperation } from '../bus/transport.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { SimulatedCrash, SimulatedFailure, UnknownStepError } from './errors.ts';
import { type SeededRandom, seededRandom } from './random.ts';

/**
 * What the chaos monkey can do:
 * - `duplicate`: a message leaves for the broker twice (same id);
 * - `delay`: hold a message `delayMs` before it leaves for the broker, so others overtake it;
 *   with a `step`, hold that step instead (so a concurrent copy gets in first);
 * - `drop-then-redeliver`: fail an incoming message before its handler runs, as if it had been
 *   lost on the way: the retry brings it back;
 * - `fail-publish`: a message fails to leave for the broker — where the send really happens:
 *   in the handler's `publish` on a plain endpoint, at the dispatch after the commit on an
 *   endpoint with an outbox;
 * - `fail-commit`: the work wrapped by `around(step)` fails before it happens;
 * - `timeout`: the work wrapped by `around(step)` happens, then its caller waits `delayMs` and
 *   sees a failure anyway (the nastiest one: the commit went through);
 * - `crash`: the process dies at the named step (an exception by default, or a real exit).
 */
export const CHAOS_KINDS = [
  'duplicate',
  'delay',
  'drop-then-redeliver',
  'fail-publish',
  'fail-commit',
  'timeout',
  'crash',
] as const;
export type ChaosKind = (typeof CHAOS_KINDS)[number];

/** The steps the chaos monkey itself knows: `handler`, just before a handler runs. */
export const CHAOS_STEPS = ['handler'] as const;

export interface ChaosRule<Step extends string = string> {
  readonly kind: ChaosKind;
  /** Only messages of this type. */
  readonly messageType?: string;
  /** Only messages whose body field (a dotted path) equals this value: serialisable, for a web panel. */
  readonly field?: { readonly path: string; readonly equals: unknown };
  /** Only messages whose body passes this test. */
  readonly where?: (body: unknown) => boolean;
  /** The probability of injecting into a matching message, from the seeded source. Default 1. */
  readonly rate?: number;
  /** Only the first N matching messages. */
  readonly times?: number;
  /** For `delay` and `timeout`. Default 100 ms. */
  readonly delayMs?: number;
  /**
   * For `fail-commit`, `timeout` and `crash`: the step named in `around(step, …)` ('commit' by
   * default; 'handler' for a crash before a handler). For `delay`: a step to hold instead of
   * the outgoing message.
   */
  readonly step?: Step;
}

export interface Injection {
  /** 1, 2, 3… in the order injected. */
  readonly seq: number;
  readonly ruleId: string;
  readonly kind: ChaosKind;
  readonly messageId: string | undefined;
  readonly messageType: string | undefined;
  readonly step?: string;
}

export interface ChaosOptions<Step extends string = string> {
  /** Every random choice comes from this seed: the same seed replays the same injections. */
  readonly seed: number;
  /**
   * The steps that exist where this monkey runs. A rule naming another step is refused at once
   * ({@link UnknownStepError}) rather than never striking. Without a list, any name is taken.
   */
  readonly steps?: readonly Step[];
  readonly logger?: Logger;
  /** `throw` (default): a crash is a {@link SimulatedCrash}. `exit`: the process really dies. */
  readonly crash?: 'throw' | 'exit';
}

interface Target {
  readonly id?: string;
  readonly type?: string;
  readonly body?: unknown;
}

interface Entry<Step extends string> {
  readonly id: string;
  rule: ChaosRule<Step>;
  injected: number;
}

const OUTGOING: readonly ChaosKind[] = ['duplicate', 'delay', 'fail-publish'];

export class Chaos<Step extends string = string>
  extends EventEmitter<{ injection: [Injection] }>
  implements StepHook<Step>
{
  readonly seed: number;
  /** The steps rules may name (undefined: any). */
  readonly steps: readonly Step[] | undefined;
  readonly injections: Injection[] = [];
  private readonly random: SeededRandom;
  private readonly entries = new Map<string, Entry<Step>>();
  private readonly log: Logger;
  private readonly crashMode: 'throw' | 'exit';
  private nextRule = 1;

  constructor(options: ChaosOptions<Step>) {
    super();
    this.seed = options.seed;
    this.steps = options.steps;
    this.random = seededRandom(options.seed);
    this.log = (options.logger ?? createLogger()).child({ chaos: true });
    this.crashMode = options.crash ?? 'throw';
  }

  /** Adds a rule (also while endpoints run) and returns its id. */
  add(rule: ChaosRule<Step>): string {
    this.checkStep(rule.step);
    const id = `rule-${this.nextRule++}`;
    this.entries.set(id, { id, rule, injected: 0 });
    return id;
  }

  update(id: string, changes: Partial<ChaosRule<Step>>): void {
    const entry = this.entries.get(id);
    if (!entry) throw new Error(`no chaos rule ${id}`);
    this.checkStep(changes.step);
    entry.rule = { ...entry.rule, ...changes };
  }

  remove(id: string): boolean {
    return this.entries.delete(id);
  }

  clear(): void {
    this.entries.clear();
  }

  rules(): { id: string; rule: ChaosRule<Step>; injected: number }[] {
    return [...this.entries.values()].map((e) => ({ ...e }));
  }

  private checkStep(step: string | undefined): void {
    if (step === undefined || this.steps === undefined) return;
    if (!(this.steps as readonly string[]).includes(step)) {
      throw new UnknownStepError(step, this.steps);
    }
  }

  /**
   * The transport with duplicates, delays and failed publishes, where a message really leaves
   * for the broker: a handler's send on a plain endpoint, an outbox's dispatch after its commit.
   * (Wrap the outermost transport, so that a tracer inside it sees every copy sent.)
   */
  wrap(transport: Transport): Transport {
    return {
      kind: transport.kind,
      errorQueue: transport.errorQueue,
      dispatch: async (operation: TransportOperation) => {
        const entry = this.pick(OUTGOING, targetOf(operation));
        if (!entry) return transport.dispatch(operation);
        const { message } = operation;
        switch (entry.rule.kind) {
          case 'duplicate':
            await transport.dispatch(operation);
            await transport.dispatch(operation);
            return;
          case 'delay':
            await sleep(entry.rule.delayMs ?? 100);
            return transport.dispatch(operation);
          default:
            throw new SimulatedFailure(
              `chaos: sending ${message.type} ${message.messageId} failed`,
            );
        }
      },
      receive: (options, onMessage) => transport.receive(options, onMessage),
      receiveRaw: (queue, onMessage) => transport.receiveRaw(queue, onMessage),
      messageCount: (queue) => transport.messageCount(queue),
      close: () => transport.close(),
    };
  }

  /** Incoming middleware: lost-then-redelivered messages and crashes before the handler. */
  readonly incoming: IncomingMiddleware = async (context, next) => {
    const message = context.message;
    const entry =
      this.pick(['drop-then-redeliver'], message) ?? this.pick(['crash'], message, 'handler');
    if (!entry) return next();
    if (entry.rule.kind === 'crash') this.crash('handler', message);
    throw new SimulatedFailure(
      `chaos: ${message.type} ${message.id} was dropped; it will come back`,
    );
  };

  /**
   * Runs `work` (a commit, a store write…) as the step named `step`, unless a rule says it fails
   * first (`fail-commit`), fails after it succeeded (`timeout`) or crashes the process (`crash`).
   */
  async around<T>(step: Step, message: Target, work: () => Promise<T>): Promise<T> {
    const entry = this.pick(['fail-commit', 'timeout', 'crash', 'delay'], message, step);
    if (!entry) return work();
    if (entry.rule.kind === 'crash') this.crash(step, message);
    if (entry.rule.kind === 'delay') {
      await sleep(entry.rule.delayMs ?? 100);
      return work();
    }
    if (entry.rule.kind === 'fail-commit') {
      throw new SimulatedFailure(`chaos: ${step} failed for ${message.type ?? 'a message'}`);
    }
    await work();
    await sleep(entry.rule.delayMs ?? 100);
    throw new SimulatedFailure(
      `chaos: ${step} timed out for ${message.type ?? 'a message'} (it did happen)`,
    );
  }

  /** The first rule of one of `kinds` that selects this message now; records the injection. */
  private pick(
    kinds: readonly ChaosKind[],
    message: Target,
    step?: string,
  ): Entry<Step> | undefined {
    for (const entry of this.entries.values()) {
      const { rule } = entry;
      if (!kinds.includes(rule.kind)) continue;
      if (step !== undefined && (rule.step ?? defaultStep(rule.kind)) !== step) continue;
      if (step === undefined && rule.step !== undefined) continue; // a rule for a step only
      if (rule.messageType !== undefined && rule.messageType !== message.type) continue;
      if (rule.field && fieldOf(message.body, rule.field.path) !== rule.field.equals) continue;
      if (rule.where && !rule.where(message.body)) continue;
      if (rule.times !== undefined && entry.injected >= rule.times) continue;
      if (rule.rate !== undefined && rule.rate < 1 && this.random.next() >= rule.rate) continue;
      entry.injected++;
      const injection: Injection = {
        seq: this.injections.length + 1,
        ruleId: entry.id,
        kind: rule.kind,
        messageId: message.id,
        messageType: message.type,
        ...(step !== undefined ? { step } : {}),
      };
      this.injections.push(injection);
      this.log.warn(
        injection,
        `chaos: ${rule.kind} ${message.type ?? ''} ${message.id ?? ''}`.trim(),
      );
      this.emit('injection', injection);
      return entry;
    }
    return undefined;
  }

  private crash(step: string, message: Target): never {
    if (this.crashMode === 'exit') {
      this.log.fatal({ step, messageId: message.id }, 'chaos: crashing the process');
      process.kill(process.pid, 'SIGKILL');
    }
    throw new SimulatedCrash(
      `chaos: crashed at ${step} (${message.type ?? 'no message'} ${message.id ?? ''})`,
    );
  }
}

function defaultStep(kind: ChaosKind): string | undefined {
  if (kind === 'fail-commit' || kind === 'timeout') return 'commit';
  if (kind === 'crash') return 'handler';
  return undefined;
}

/** A message on its way to the broker, as rules select it (the body parsed only if asked). */
function targetOf(operation: TransportOperation): Target {
  const { message } = operation;
  let body: unknown;
  let parsed = false;
  return {
    id: message.messageId,
    type: message.type,
    get body() {
      if (!parsed) {
        parsed = true;
        try {
          body = JSON.parse(message.body.toString('utf8'));
        } catch {
          body = undefined;
        }
      }
      return body;
    },
  };
}

function fieldOf(body: unknown, path: string): unknown {
  let value: unknown = body;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import { type Chaos, type ChaosRule, UnknownStepError } from '@pierogi/shared';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { FillingSchema, MESSAGE_TYPES } from '../contracts.ts';
import { SHOP_STEPS, type ShopStep } from '../steps.ts';

/**
 * Where a `fail-commit` fails: the save of the endpoint that owns the data, or `commit`, the
 * commit of a whole message in the shops on an outbox + inbox (exercises 13 and 14).
 */
const STORES = ['orders', 'bills', 'marketing', 'commit'] as const;

/**
 * Every kind of chaos the library has. `crash` here throws at the step (the process lives on: a
 * real SIGKILL is the system test's); `timeout` lets the step happen, then fails its caller.
 */
const PANEL_KINDS = [
  'duplicate',
  'delay',
  'fail-publish',
  'fail-commit',
  'timeout',
  'crash',
  'drop-then-redeliver',
] as const;

/** The kinds that strike at a step: the store named (or `step`). */
const AT_A_STEP: readonly string[] = ['fail-commit', 'timeout', 'crash'];

/**
 * What the page's chaos panel can switch on: the failures a facilitator shows live. A commit
 * fails at the store of the endpoint that owns the data (orders, billing or marketing).
 */
export const PanelRule = z
  .object({
    kind: z.enum(PANEL_KINDS, { error: `kind must be one of ${PANEL_KINDS.join(', ')}` }),
    messageType: z
      .enum(MESSAGE_TYPES, { error: `messageType must be one of ${MESSAGE_TYPES.join(', ')}` })
      .optional(),
    filling: FillingSchema.optional(),
    /** For fail-commit, timeout and crash: whose store (or `commit`, a whole message's). */
    store: z.enum(STORES, { error: `store must be one of ${STORES.join(', ')}` }).optional(),
    /**
     * For fail-commit, timeout, crash and delay: the exact step instead (any step of the shop,
     * `orders.save`, `dispatch`, `mark-inbox`…); it takes the place of `store`.
     */
    step: z
      .string()
      .max(40)
      .refine((step) => (SHOP_STEPS as readonly string[]).includes(step), {
        error: (issue) =>
          `there is no step ${JSON.stringify(issue.input)}; the steps are ${SHOP_STEPS.join(', ')}`,
      })
      .optional(),
    rate: z.number().gt(0, 'rate must be above 0').max(1, 'rate must be at most 1').default(1),
    delayMs: z.number().int().min(1).max(10_000).default(500),
  })
  .strict()
  .superRefine((rule, context) => {
    // A field the rule would not use is refused, rather than silently dropped.
    if (rule.store !== undefined && !AT_A_STEP.includes(rule.kind)) {
      context.addIssue({
        code: 'custom',
        message: `store applies to ${AT_A_STEP.join(', ')}, not to ${rule.kind}`,
      });
    }
    if (rule.step !== undefined && rule.store !== undefined) {
      context.addIssue({ code: 'custom', message: 'give store or step, not both' });
    }
    if (rule.step !== undefined && !AT_A_STEP.includes(rule.kind) && rule.kind !== 'delay') {
      context.addIssue({
        code: 'custom',
        message: `step applies to ${AT_A_STEP.join(', ')} and delay, not to ${rule.kind}`,
      });
    }
  });
export type PanelRule = z.input<typeof PanelRule>;

function toChaosRule(panel: z.output<typeof PanelRule>): ChaosRule<ShopStep> {
  const step = panel.step as ShopStep | undefined;
  return {
    kind: panel.kind,
    rate: panel.rate,
    ...(panel.messageType ? { messageType: panel.messageType } : {}),
    ...(panel.filling ? { field: { path: 'filling', equals: panel.filling } } : {}),
    ...(panel.kind === 'delay' || panel.kind === 'timeout' ? { delayMs: panel.delayMs } : {}),
    ...(AT_A_STEP.includes(panel.kind)
      ? { step: step ?? (panel.store === 'commit' ? 'commit' : `${panel.store ?? 'orders'}.save`) }
      : {}),
    ...(panel.kind === 'delay' && step ? { step } : {}),
  };
}

/** GET/POST/DELETE /api/chaos: the rules of the shop's chaos monkey, changed while it runs. */
export function chaosRoutes(
  app: FastifyInstance,
  chaos: Chaos<ShopStep>,
  parse: <T>(schema: z.ZodType<T>, value: unknown, what: string) => T,
): void {
  app.get('/api/chaos', async () => ({
    seed: chaos.seed,
    kinds: PANEL_KINDS,
    messageTypes: MESSAGE_TYPES,
    stores: STORES,
    steps: chaos.steps ?? SHOP_STEPS,
    rules: chaos.rules(),
  }));

  app.post('/api/chaos', async (request, reply) => {
    const panel = parse(PanelRule, request.body, 'in the body');
    try {
      const id = chaos.add(toChaosRule(panel));
      return reply.status(201).send({ id });
    } catch (error) {
      if (!(error instanceof UnknownStepError)) throw error;
      return reply.status(400).send({ error: 'bad request', message: error.message });
    }
  });

  app.delete('/api/chaos/:id', async (request, reply) => {
    const { id } = parse(z.object({ id: z.string().max(40) }), request.params, 'in the URL');
    if (!chaos.remove(id)) {
      return reply
        .status(404)
        .send({ error: 'not found', message: `there is no chaos rule ${id}` });
    }
    return reply.status(204).send();
  });

  app.delete('/api/chaos', async (_request, reply) => {
    chaos.clear();
    return reply.status(204).send();
  });
}

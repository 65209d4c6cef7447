import { seededRandom } from '@pierogi/shared';
import { FILLINGS, type Filling, PRICES } from '../../src/contracts.ts';
import type { Bill, Order } from '../../src/entities.ts';

/**
 * One click of a customer. `again`: the answer gets lost on the way back, so the browser sends
 * the same request again (the same idempotency-key) after the shop accepted it. `copyOf`: no
 * click at all but a late copy of an earlier one (that step's index), the same request with the
 * same idempotency-key arriving after the customer moved on (a retry held up on the way): it
 * changes nothing.
 */
export type Step = (
  | { readonly kind: 'add'; readonly filling: Filling }
  | { readonly kind: 'remove'; readonly filling: Filling }
  | { readonly kind: 'submit' }
) & { readonly again?: boolean; readonly copyOf?: number };

export interface PlannedOrder {
  readonly orderId: string;
  readonly steps: readonly Step[];
}

/** What the customer expects to see after some of the steps (GET /api/orders/:id). */
export interface Expected {
  readonly lines: readonly Filling[];
  readonly submitted: boolean;
  readonly total: number;
  readonly items: number;
  readonly invoices: number;
}

/** What GET /api/orders/:id answers. */
export interface Observed {
  readonly order: Order | null;
  readonly bill: Bill | null;
}

/**
 * The orders to place, the same for the same seed: each adds 1–5 distinct fillings, about a
 * third remove one of them on the way (only when two or more are in, so the first filling of
 * the order stays the first one marketing hears of), then submit. One click in twenty is sent
 * twice, as when the first answer is lost. Half the orders that remove a filling then get a late
 * copy of the click that added it: the shop must tell it from a new click (the inbox of `orders`
 * drops it), or the filling comes back.
 */
export function planOrders(seed: number, count: number): PlannedOrder[] {
  const random = seededRandom(seed);
  const orders: PlannedOrder[] = [];
  for (let n = 1; n <= count; n++) {
    const fillings = [...FILLINGS];
    for (let i = fillings.length - 1; i > 0; i--) {
      const j = Math.floor(random.next() * (i + 1));
      [fillings[i], fillings[j]] = [fillings[j] as Filling, fillings[i] as Filling];
    }
    const adding = fillings.slice(0, 1 + Math.floor(random.next() * fillings.length));
    const steps: Step[] = [];
    const lines: Filling[] = [];
    let removed = false;
    const again = () => (random.next() < 0.05 ? { again: true } : {});
    for (const filling of adding) {
      steps.push({ kind: 'add', filling, ...again() });
      lines.push(filling);
      if (!removed && lines.length >= 2 && random.next() < 0.25) {
        const gone = lines[Math.floor(random.next() * lines.length)] as Filling;
        steps.push({ kind: 'remove', filling: gone, ...again() });
        lines.splice(lines.indexOf(gone), 1);
        removed = true;
        if (random.next() < 0.5) {
          const added = steps.findIndex((s) => s.kind === 'add' && s.filling === gone);
          steps.push({ kind: 'add', filling: gone, copyOf: added });
        }
      }
    }
    steps.push({ kind: 'submit', ...again() });
    orders.push({ orderId: `o${n}`, steps });
  }
  return orders;
}

/** The order and its bill after the first `count` steps. */
export function expectedAfter(steps: readonly Step[], count = steps.length): Expected {
  const lines: Filling[] = [];
  let submitted = false;
  for (const step of steps.slice(0, count)) {
    if (step.copyOf !== undefined) continue; // a copy of a click already counted
    if (step.kind === 'add') lines.push(step.filling);
    else if (step.kind === 'remove') lines.splice(lines.indexOf(step.filling), 1);
    else submitted = true;
  }
  return {
    lines,
    submitted,
    total: lines.reduce((sum, filling) => sum + PRICES[filling], 0),
    items: lines.length,
    invoices: submitted ? 1 : 0,
  };
}

/** How many orders started with each filling: what marketing should count. */
export function expectedFirstFillings(
  orders: readonly PlannedOrder[],
): Partial<Record<Filling, number>> {
  const counts: Partial<Record<Filling, number>> = {};
  for (const { steps } of orders) {
    const first = steps[0];
    if (first?.kind === 'add') counts[first.filling] = (counts[first.filling] ?? 0) + 1;
  }
  return counts;
}

/** What differs between what the customer expects and what the shop shows; [] if nothing. */
export function differences(expected: Expected, observed: Observed): string[] {
  const problems: string[] = [];
  const lines = observed.order?.lines ?? [];
  if (JSON.stringify(lines) !== JSON.stringify(expected.lines)) {
    problems.push(`lines ${show(lines)}, expected ${show(expected.lines)}`);
  }
  if ((observed.order?.submitted ?? false) !== expected.submitted) {
    problems.push(expected.submitted ? 'not submitted' : 'submitted already');
  }
  const bill = observed.bill ?? { total: 0, items: 0, invoices: 0 };
  if (bill.total !== expected.total || bill.items !== expected.items) {
    problems.push(
      `bill ${bill.total} for ${bill.items} item(s), expected ${expected.total} for ${expected.items}`,
    );
  }
  if ((bill.invoices ?? 0) !== expected.invoices) {
    problems.push(`${bill.invoices ?? 0} invoice(s), expected ${expected.invoices}`);
  }
  return problems;
}

function show(lines: readonly string[]): string {
  return `[${lines.join(', ')}]`;
}

export function describeStep(step: Step): string {
  const click = step.kind === 'submit' ? 'submit' : `${step.kind} ${step.filling}`;
  return step.copyOf === undefined ? click : `late copy of "${click}" (step ${step.copyOf + 1})`;
}

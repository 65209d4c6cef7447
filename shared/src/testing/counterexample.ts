/**
 * A counterexample people can read: a numbered message sequence — who did what to which message —
 * that the interleaving explorer and the model checker both turn their traces into. As text for
 * the terminal ({@link formatCounterexample}) and as a Mermaid sequence diagram for the page and
 * the slides ({@link counterexampleDiagram}).
 */

export interface CounterexampleStep {
  /** Who acts: a participant of the diagram ("copy A", "broker", "database"). */
  readonly actor: string;
  /** What it did, in a few words: "loads order o-1", "crashes and starts over". */
  readonly action: string;
  /** The participant it acted on; none for something the actor does on its own (a crash). */
  readonly to?: string;
  /** The message the step is about ("AddItem m-1"). */
  readonly message?: string;
}

export interface Counterexample {
  /** What was explored: "two copies of the AddItem handler, one crash". */
  readonly title: string;
  /** The invariant the last state breaks. */
  readonly invariant: string;
  /** Left to right in the diagram; by default in the order they first appear in the steps. */
  readonly participants?: readonly string[];
  readonly steps: readonly CounterexampleStep[];
  /** What the end state shows ("order o-1 holds 2 items for one AddItem"). */
  readonly outcome?: string;
  /** How much was explored to find it ("17 executions in 4 ms"). */
  readonly explored?: string;
}

/** The participants in diagram order: the declared ones, then the others as they appear. */
export function participantsOf(example: Counterexample): string[] {
  const seen = new Set(example.participants ?? []);
  for (const step of example.steps) {
    seen.add(step.actor);
    if (step.to !== undefined) seen.add(step.to);
  }
  return [...seen];
}

/** One line of a step, as the terminal shows it: "copy A → database: loads o-1 (AddItem m-1)". */
export function describeStep(step: CounterexampleStep): string {
  const who = step.to === undefined ? step.actor : `${step.actor} → ${step.to}`;
  return `${who}: ${step.action}${step.message === undefined ? '' : ` (${step.message})`}`;
}

/** The counterexample as numbered lines, with the broken invariant first and the outcome last. */
export function formatCounterexample(example: Counterexample): string {
  const width = String(example.steps.length).length;
  return [
    `"${example.invariant}" is broken — ${example.title}${example.explored ? ` (found after ${example.explored})` : ''}:`,
    ...example.steps.map((step, i) => `  ${String(i + 1).padStart(width)}. ${describeStep(step)}`),
    ...(example.outcome ? [`  ⇒ ${example.outcome}`] : []),
  ].join('\n');
}

/**
 * The counterexample as Mermaid `sequenceDiagram` source: an arrow per step that acts on another
 * participant, a note over the actor for a step it takes alone, numbered as the text is.
 */
export function counterexampleDiagram(example: Counterexample): string {
  const names = participantsOf(example);
  const id = new Map(names.map((name, i) => [name, `p${i}`]));
  const lines = ['sequenceDiagram'];
  for (const name of names) lines.push(`  participant ${id.get(name)} as ${label(name)}`);
  example.steps.forEach((step, i) => {
    const text = label(
      `${i + 1}. ${step.action}${step.message === undefined ? '' : ` (${step.message})`}`,
    );
    const from = id.get(step.actor) as string;
    if (step.to === undefined || step.to === step.actor) {
      lines.push(`  Note over ${from}: ${text}`);
    } else {
      lines.push(`  ${from}->>${id.get(step.to)}: ${text}`);
    }
  });
  if (example.outcome) {
    const span =
      names.length > 1 ? `${id.get(names[0] as string)},${id.get(names.at(-1) as string)}` : 'p0';
    // A note per clause of the outcome: one as wide as the diagram is unreadable, and a note of
    // several lines is drawn in a box of one.
    const clauses = [`⇒ ${example.invariant} broken`, ...example.outcome.split(/;\s*/)];
    for (const clause of clauses) lines.push(`  Note over ${span}: ${label(clause)}`);
  }
  return lines.join('\n');
}

/** Text Mermaid keeps as written: no line breaks, no characters that end a statement. */
function label(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[;#:]/g, (c) => (c === ':' ? '꞉' : c === ';' ? ',' : '♯'));
}

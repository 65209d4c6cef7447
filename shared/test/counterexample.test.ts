import { describe, expect, it } from 'vitest';
import {
  type Counterexample,
  counterexampleDiagram,
  formatCounterexample,
  participantsOf,
} from '../src/testing/counterexample.ts';

const example: Counterexample = {
  title: 'two copies of AddItem m-1, one crash',
  invariant: 'no duplicate processing',
  steps: [
    { actor: 'copy A', to: 'inbox', action: 'finds m-1 unseen', message: 'AddItem m-1' },
    { actor: 'copy B', to: 'inbox', action: 'finds m-1 unseen', message: 'AddItem m-1' },
    { actor: 'copy A', to: 'orders', action: 'saves o-1: 1 item; ok' },
    { actor: 'copy B', action: 'crashes and starts over' },
    { actor: 'copy B', to: 'orders', action: 'saves o-1: 2 items' },
  ],
  outcome: 'o-1 holds 2 items for one AddItem',
  explored: '17 executions',
};

describe('counterexamples people can read', () => {
  it('as text: the broken invariant, one numbered line per step (who → whom: what), the outcome', () => {
    expect(formatCounterexample(example).split('\n')).toEqual([
      '"no duplicate processing" is broken — two copies of AddItem m-1, one crash (found after 17 executions):',
      '  1. copy A → inbox: finds m-1 unseen (AddItem m-1)',
      '  2. copy B → inbox: finds m-1 unseen (AddItem m-1)',
      '  3. copy A → orders: saves o-1: 1 item; ok',
      '  4. copy B: crashes and starts over',
      '  5. copy B → orders: saves o-1: 2 items',
      '  ⇒ o-1 holds 2 items for one AddItem',
    ]);
  });

  it('numbers stay aligned past nine steps', () => {
    const long = {
      ...example,
      steps: Array.from({ length: 10 }, () => ({ actor: 'a', action: 'x' })),
    };
    const lines = formatCounterexample(long).split('\n');
    expect(lines[1]).toBe('   1. a: x');
    expect(lines[10]).toBe('  10. a: x');
  });

  it('participants: the declared ones first, then the others as they appear', () => {
    expect(participantsOf(example)).toEqual(['copy A', 'inbox', 'copy B', 'orders']);
    expect(participantsOf({ ...example, participants: ['orders', 'copy B'] })).toEqual([
      'orders',
      'copy B',
      'copy A',
      'inbox',
    ]);
  });

  it('as a sequence diagram: an arrow per step on another participant, a note for a step alone', () => {
    const lines = counterexampleDiagram(example).split('\n');
    expect(lines[0]).toBe('sequenceDiagram');
    expect(lines).toContain('  participant p0 as copy A');
    expect(lines).toContain('  p0->>p1: 1. finds m-1 unseen (AddItem m-1)');
    expect(lines).toContain('  Note over p2: 4. crashes and starts over');
    expect(lines.slice(-2)).toEqual([
      '  Note over p0,p3: ⇒ no duplicate processing broken',
      '  Note over p0,p3: o-1 holds 2 items for one AddItem',
    ]);
  });

  it('text that would end a diagram statement is written so that it does not', () => {
    const hostile: Counterexample = {
      title: 't',
      invariant: 'i',
      steps: [{ actor: 'a;b', to: 'c#d', action: 'one\nline: two; three #x' }],
    };
    const diagram = counterexampleDiagram(hostile);
    expect(diagram.split('\n')).toHaveLength(4);
    expect(diagram).not.toMatch(/[;#]/);
    expect(diagram.split('\n')[3]).toMatch(/^ {2}p0->>p1: 1\. one line꞉ two, three ♯x$/);
  });
});

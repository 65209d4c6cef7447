import {
  type Counterexample,
  counterexampleDiagram,
  formatCounterexample,
} from '@pierogi/shared/testing';
import { renderMermaidSVG } from 'beautiful-mermaid';

/** A counterexample as the page shows it: the numbered text and the sequence diagram. */
export interface CounterexampleView {
  readonly title: string;
  readonly invariant: string;
  readonly text: string;
  /** The sequence diagram as a standalone SVG document that loads nothing. */
  readonly svg: string;
  /** When it was found (ISO 8601), if known. */
  readonly foundAt?: string;
}

/** What the page's counterexample panel shows: a counterexample, or a sentence (none yet, or it holds). */
export type CounterexamplePanel =
  | CounterexampleView
  | { readonly title: string; readonly message: string };

/**
 * Renders a counterexample for the page. The diagram is drawn here, in Node, so the page needs no
 * diagram library; the renderer's web-font imports are removed (the page works offline, in the
 * system font).
 */
export function viewOfCounterexample(
  example: Counterexample,
  foundAt?: string,
): CounterexampleView {
  return {
    title: example.title,
    invariant: example.invariant,
    text: formatCounterexample(example),
    svg: offlineSvg(
      renderMermaidSVG(counterexampleDiagram(example), {
        font: 'system-ui',
        // Dark enough to read on a projector.
        fg: '#111111',
        muted: '#333333',
        line: '#555555',
      }),
    ),
    ...(foundAt ? { foundAt } : {}),
  };
}

/** An SVG without `@import` rules: nothing it draws is fetched from the network. */
export function offlineSvg(svg: string): string {
  return svg.replace(/^\s*@import url\([^)]*\);\s*$/gm, '');
}

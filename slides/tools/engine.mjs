// The deck engine: Marp Core with the workshop's theme (fonts embedded) and ```mermaid fences
// rendered to inline SVG at build time, so a built deck needs no network and no script to draw.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Marp } from '@marp-team/marp-core';
import { renderMermaidSVG } from 'beautiful-mermaid';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Options for Marp Core: nothing that would load from a CDN (emoji images, math fonts). */
export const marpOptions = {
  emoji: { shortcode: true, unicode: false },
  math: false,
  minifyCSS: false,
};

/** One @font-face rule with the font file inlined: a deck opened from file:// loads no font. */
function fontFace(family, pkg, file, weight) {
  const path = require.resolve(`${pkg}/files/${file}`);
  const data = readFileSync(path).toString('base64');
  return `@font-face { font-family: '${family}'; font-style: normal; font-weight: ${weight}; font-display: block; src: url(data:font/woff2;base64,${data}) format('woff2'); }`;
}

/** The theme's CSS, with the fonts it uses inlined. */
export function themeCss() {
  const faces = [
    fontFace('Inter', '@fontsource/inter', 'inter-latin-400-normal.woff2', 400),
    fontFace('Inter', '@fontsource/inter', 'inter-latin-600-normal.woff2', 600),
    fontFace('Inter', '@fontsource/inter', 'inter-latin-ext-400-normal.woff2', 400),
    fontFace('Inter', '@fontsource/inter', 'inter-latin-ext-600-normal.woff2', 600),
    fontFace(
      'JetBrains Mono',
      '@fontsource/jetbrains-mono',
      'jetbrains-mono-latin-400-normal.woff2',
      400,
    ),
  ];
  const theme = readFileSync(join(here, '..', 'theme', 'pierogi.css'), 'utf8');
  // The theme's metadata comment must stay first; the fonts go right after it.
  const end = theme.indexOf('*/') + 2;
  return `${theme.slice(0, end)}\n${faces.join('\n')}\n${theme.slice(end)}`;
}

/** The diagrams' colours: the theme's, so a diagram looks like the slide it is on. */
const DIAGRAM_COLOURS = {
  bg: '#fffdf8',
  fg: '#2b2118',
  accent: '#b5452b',
  line: '#7a6a5a',
  muted: '#6b5d50',
  surface: '#f6ead8',
  border: '#c9b49a',
  font: 'Inter',
  transparent: true,
};

/** Mermaid source to an SVG that loads nothing: the renderer's web-font imports are removed. */
export function renderDiagram(source) {
  const svg = renderMermaidSVG(source, DIAGRAM_COLOURS);
  // Drawn at most 1.6 times the renderer's size; the theme shrinks it to the room on the slide.
  const scale = (n) => String(Math.round(Number(n) * 1.6));
  return svg
    .replace(/@import url\([^)]*\);?/g, '')
    .replace(
      /^<svg([^>]*?) width="([\d.]+)" height="([\d.]+)" style="/,
      (_, a, w, h) =>
        `<svg${a} width="${scale(w)}" height="${scale(h)}" style="max-height: ${scale(h)}px; `,
    );
}

/** A markdown-it plugin: ```mermaid fences become inline SVG, other fences stay code. */
export function mermaidFences(md) {
  const fence = md.renderer.rules.fence;
  md.renderer.rules.fence = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    if (token.info.trim() !== 'mermaid') return fence(tokens, idx, options, env, self);
    try {
      return `<figure class="diagram">${renderDiagram(token.content)}</figure>\n`;
    } catch (error) {
      const line = token.map ? token.map[0] + 1 : '?';
      throw new Error(`a mermaid diagram at line ${line} does not render: ${error.message}`);
    }
  };
}

/** A Marp plugin: the workshop's theme and the diagrams. */
export function pierogi(md) {
  md.marpit.themeSet.add(themeCss());
  md.use(mermaidFences);
}

/** The engine for Marp CLI's config: Marp Core with the plugin above. */
export function engine(constructorOptions) {
  return new Marp(constructorOptions).use(pierogi);
}

// `pnpm slides` serves the decks with live reload; `pnpm slides:build DIR` writes static HTML.
// Usage: node slides/tools/slides.mjs serve | build DIR
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marpCli } from '@marp-team/marp-cli';

const slidesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const decksDir = join(slidesDir, 'decks');
const configFile = join(slidesDir, 'marp.config.mjs');

/** The decks, in the order of the day: file name, title (from the front matter), slides. */
export function decks() {
  return readdirSync(decksDir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((file) => {
      const source = readFileSync(join(decksDir, file), 'utf8');
      const title = /^title:\s*(.+)$/m.exec(source)?.[1]?.trim() ?? file;
      return { file, html: file.replace(/\.md$/, '.html'), title };
    });
}

function escapeHtml(text) {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c],
  );
}

/** A page that lists the decks, so a folder of HTML files opens at one place. */
function indexPage() {
  const items = decks()
    .map((d) => `<li><a href="${d.html}">${escapeHtml(d.title)}</a></li>`)
    .join('\n      ');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Exactly-once workshop: the lectures</title>
    <style>
      body { font: 18px/1.5 system-ui, sans-serif; max-width: 40em; margin: 3em auto; color: #2b2118; background: #fffdf8; }
      a { color: #b5452b; }
    </style>
  </head>
  <body>
    <h1>Exactly-once workshop: the lectures</h1>
    <p>Open a deck; arrow keys move, <kbd>p</kbd> opens the presenter view with the notes, <kbd>f</kbd> goes full screen.</p>
    <ol>
      ${items}
    </ol>
  </body>
</html>
`;
}

async function run(argv) {
  try {
    const code = await marpCli(['--config-file', configFile, ...argv], {});
    if (code !== 0) process.exit(code);
  } catch (error) {
    // Marp's own report quotes its minified source; the message is what matters.
    console.error(`slides: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}

const [command, target] = process.argv.slice(2);
if (command === 'build') {
  if (!target) {
    console.error('usage: pnpm slides:build DIR   (writes one HTML file per deck into DIR)');
    process.exit(2);
  }
  // pnpm runs scripts from the root; a relative DIR means relative to where it was typed.
  const out = resolve(process.env.INIT_CWD ?? process.cwd(), target);
  mkdirSync(out, { recursive: true });
  await run(['--input-dir', decksDir, '--output', out]);
  writeFileSync(join(out, 'index.html'), indexPage());
  console.log(`${decks().length} decks in ${out}: open ${join(out, 'index.html')}`);
} else if (command === 'serve') {
  // Marp's server converts a deck when it is asked for and reloads the page when it changes.
  console.log(
    `serving the decks on http://localhost:${process.env.PORT ?? 8080}/ (PORT=… for another)`,
  );
  await run(['--server', '--input-dir', decksDir]);
} else {
  console.error('usage: node slides/tools/slides.mjs serve | build DIR');
  process.exit(2);
}

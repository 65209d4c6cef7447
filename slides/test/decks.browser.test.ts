import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The system's Chromium, driven by playwright-core (which downloads no browser of its own).
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const SKIPPED = `skipped: no ${CHROMIUM}; install it with \`sudo apt-get install -y chromium\` (Debian/Ubuntu)`;
if (!hasChromium) console.warn(`decks.browser.test.ts: ${SKIPPED}`);

const slidesDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const decksDir = join(slidesDir, 'decks');
/** Where the title slide's picture goes: a temporary folder, unless asked for (see slides/README.md). */
const SCREENSHOT = process.env.SLIDES_SCREENSHOT;

/**
 * How many slides a deck's Markdown makes, counted from the source: one, plus one per `---`
 * rule outside the front matter and outside code fences.
 */
function slidesInSource(markdown: string): number {
  const body = markdown.replace(/^---\n[\s\S]*?\n---\n/, '');
  let fence = false;
  let slides = 1;
  for (const line of body.split('\n')) {
    if (/^(```|~~~)/.test(line)) fence = !fence;
    else if (!fence && line.trim() === '---') slides += 1;
  }
  return slides;
}

const decks = readdirSync(decksDir)
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((file) => ({
    file,
    html: file.replace(/\.md$/, '.html'),
    slides: slidesInSource(readFileSync(join(decksDir, file), 'utf8')),
  }));

const title = `the built decks in Chromium${hasChromium ? '' : ` (${SKIPPED})`}`;

describe.skipIf(!hasChromium)(title, () => {
  let out: string;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'slides-'));
    await Promise.all([
      promisify(execFile)(process.execPath, [join(slidesDir, 'tools', 'slides.mjs'), 'build', out]),
      chromium
        .launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] })
        .then(async (b) => {
          browser = b;
          context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
        }),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('there are at least four decks, and an index that links each', () => {
    expect(decks.length).toBeGreaterThanOrEqual(4);
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    for (const deck of decks) expect(index).toContain(`href="${deck.html}"`);
  });

  it.each(decks)(
    '$file: every slide, its notes and diagrams, and nothing from the network',
    async (deck) => {
      const page = await context.newPage();
      const errors: string[] = [];
      const outside: string[] = [];
      page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(`console error: ${message.text()}`);
      });
      page.on('request', (request) => {
        if (!/^(file|data|blob|about):/.test(request.url())) outside.push(request.url());
      });
      try {
        await page.goto(pathToFileURL(join(out, deck.html)).href, { waitUntil: 'load' });
        expect(await page.locator('svg[data-marpit-svg]').count(), 'slides').toBe(deck.slides);
        // Every slide but the title slides carries speaker notes.
        const titles = await page.locator('section.title').count();
        expect(
          await page.locator('.bespoke-marp-note').count(),
          'slides with notes',
        ).toBeGreaterThanOrEqual(deck.slides - titles);
        expect(await page.locator('figure.diagram svg').count(), 'diagrams').toBeGreaterThan(0);
        // The fonts are inside the page, and loaded.
        // (A string, run in the page: this project's types have no DOM.)
        const fontsLoaded = await page.evaluate(`(async () => {
        await document.fonts.load('16px Inter');
        await document.fonts.load('16px "JetBrains Mono"');
        return document.fonts.check('16px Inter') && document.fonts.check('16px "JetBrains Mono"');
      })()`);
        expect(fontsLoaded, 'the fonts load from the page itself').toBe(true);

        if (deck === decks[0]) {
          // The title slide as a reader sees it: without the controls that hover over it.
          await page.addStyleTag({
            content: '.bespoke-marp-osc, .bespoke-progress-parent { display: none !important }',
          });
          await page.screenshot({ path: SCREENSHOT ?? join(out, 'title.png') });
          // The presenter view shows the notes of the slide on the screen.
          await page.goto(`${pathToFileURL(join(out, deck.html)).href}?view=presenter#2`);
          const note = page.locator(
            '.bespoke-marp-presenter-note-container .bespoke-marp-note.active',
          );
          await expect
            .poll(() => note.textContent(), { timeout: 5_000 })
            .toContain('the two failures the whole day is about');
        }
        expect(errors, 'console errors').toEqual([]);
        expect(outside, 'requests outside file://').toEqual([]);
      } finally {
        await page.close();
      }
    },
  );
});

import { existsSync } from 'node:fs';
import { Endpoint, MemoryDocumentStore, MemoryTransport } from '@pierogi/shared';
import type { Counterexample } from '@pierogi/shared/testing';
import { useIsolation } from '@pierogi/shared/testing';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import firstHandler from '../../../solutions/01-first-handler/src/index.ts';
import { Entities, type FirstItems, type Order } from '../src/entities.ts';
import { viewOfCounterexample } from '../src/frontend/counterexampleView.ts';
import { createFrontend } from '../src/frontend/http.ts';
import { type Bill, type RunningShop, runShop } from '../src/index.ts';
import { LiveLog } from '../src/liveLog.ts';

// The system's Chromium, driven by playwright-core (which downloads no browser of its own).
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const SKIPPED = `skipped: no ${CHROMIUM}; install it with \`sudo apt-get install -y chromium\` (Debian/Ubuntu)`;
// The default reporter does not print why a suite was skipped: say it once here too.
if (!hasChromium) console.warn(`page.browser.test.ts: ${SKIPPED}`);

/** Long enough for a real broker round trip on a slow machine; a pass takes far less. */
const SETTLED = { timeout: 10_000 };

const title = `the shop page in Chromium${hasChromium ? '' : ` (${SKIPPED})`}`;

describe.skipIf(!hasChromium)(title, () => {
  const iso = useIsolation('shop page');
  let shop: RunningShop;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Script errors and console errors of the page: a test fails on any of them... */
  let pageErrors: string[];
  /** ...but these console errors, which the browser reports for answers a test asks for. */
  let expectedConsoleErrors: string[];

  beforeAll(async () => {
    shop = await runShop({
      code: firstHandler,
      amqpUrl: iso().amqpUrl,
      databaseUrl: iso().databaseUrl,
      schema: iso().schema,
      prefix: `${iso().prefix}.`,
      onDeclare: (name) => iso().track(name),
      port: 0,
      // A message that always fails reaches the error queue at once, for the error queue's test.
      recoverability: { immediateRetries: 1, delayedRetriesMs: [] },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await shop?.close();
  });

  beforeEach(async () => {
    pageErrors = [];
    expectedConsoleErrors = ['status of 400']; // each 4xx answer is a console error
    context = await browser.newContext();
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      const text = message.text();
      if (message.type() === 'error' && !expectedConsoleErrors.some((e) => text.includes(e)))
        pageErrors.push(`console error: ${text} (${message.location().url})`);
    });
    await page.goto(`${shop.url}/`);
  });

  afterEach(async () => {
    await context?.close();
    expect(pageErrors, 'the page reported errors').toEqual([]);
  });

  it('the chaos panel breaks the shop and heals it', async () => {
    await page.locator('#chaos-kind').selectOption('duplicate');
    await page.locator('#chaos-type').selectOption('ItemAdded');
    await page.locator('#chaos-add').click();
    await expect
      .poll(() => page.locator('#chaos-rules li').allTextContents(), SETTLED)
      .toEqual([expect.stringContaining('duplicate (ItemAdded), always: 0 so far')]);

    await page.locator('[data-add="Strawberry"]').click();
    await expect
      .poll(() => page.locator('#log li.chaos').allTextContents(), SETTLED)
      .toContainEqual(expect.stringContaining('chaos: duplicate ItemAdded'));
    await expect
      .poll(() => page.locator('#chaos-rules li').allTextContents(), SETTLED)
      .toEqual([expect.stringContaining('1 so far')]);
    // This shop has no deduplication yet: billing charged the Strawberry twice.
    await expect.poll(() => page.locator('#total').textContent(), SETTLED).toBe('26.00');
    expect(await page.locator('#invoices').textContent(), 'nothing submitted yet').toBe('0');

    await page.locator('#chaos-clear').click();
    await expect.poll(() => page.locator('#chaos-rules li').count(), SETTLED).toBe(0);
    expect(shop.chaos.rules()).toEqual([]);
  });

  it('the chaos panel strikes at any named step, and a delay can hold one', async () => {
    await page.locator('#chaos-kind').selectOption('crash');
    await page.locator('#chaos-store').selectOption('step:ack');
    await page.locator('#chaos-add').click();
    await page.locator('#chaos-kind').selectOption('delay');
    expect(
      await page.locator('#chaos-store').inputValue(),
      'a delay is on the way by default',
    ).toBe('');
    await page.locator('#chaos-store').selectOption('step:orders.save');
    await page.locator('#chaos-add').click();
    await expect
      .poll(() => shop.chaos.rules().map((r) => [r.rule.kind, r.rule.step]), SETTLED)
      .toEqual([
        ['crash', 'ack'],
        ['delay', 'orders.save'],
      ]);
    await page.locator('#chaos-clear').click();
    await expect.poll(() => shop.chaos.rules().length, SETTLED).toBe(0);
  });

  it('the error queue shows a message that gave up, with why, and sends it back', async () => {
    await expect.poll(() => page.locator('#failed-none').isVisible(), SETTLED).toBe(true);
    const rule = shop.chaos.add({
      kind: 'fail-commit',
      step: 'orders.save',
      field: { path: 'filling', equals: 'Mushrooms' },
    });
    await page.locator('[data-add="Mushrooms"]').click();
    await expect
      .poll(() => page.locator('#failed-list li').allTextContents(), SETTLED)
      .toEqual([
        expect.stringMatching(
          /AddItem at orders, 2 attempt\(s\).*handler-failed: chaos: orders\.save failed for AddItem/,
        ),
      ]);
    await expect(page.locator('#items').textContent()).resolves.toBe('none');

    shop.chaos.remove(rule); // the fault is repaired; the message comes back from the page
    await page.locator('[data-retry]').click();
    await expect.poll(() => page.locator('#items').textContent(), SETTLED).toBe('Mushrooms × 1');
    await expect.poll(() => page.locator('#failed-list li').count(), SETTLED).toBe(0);
    await expect(page.locator('#failed-none').isVisible()).resolves.toBe(true);
  });

  it('adding Meat shows the item, the bill and the messages', async () => {
    await page.locator('[data-add="Meat"]').click();

    await expect.poll(() => page.locator('#items').textContent(), SETTLED).toBe('Meat × 1');
    await expect.poll(() => page.locator('#total').textContent(), SETTLED).toBe('12.00');
    await expect
      .poll(() => page.locator('#log li').allTextContents(), SETTLED)
      .toContainEqual(expect.stringContaining('handled ItemAdded'));
    await expect(page.locator('#error').textContent()).resolves.toBe('');

    // Solution 01 sends no invoice; a bill that says two shows as two (exercise 02's problem).
    const orderId = await page.locator('#order-id').inputValue();
    const { value: bill, version } = await shop.bills.load(orderId);
    await shop.bills.save(orderId, { ...(bill as Bill), invoices: 2 }, version);
    await page.locator('[data-add="Meat"]').click();
    await expect.poll(() => page.locator('#invoices').textContent(), SETTLED).toBe('2');
  });

  it('shows text the user typed as text, never as markup', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1">';
    await page.locator('#order-id').fill(hostile);
    await page.locator('[data-add="Meat"]').click();

    // The API refuses the order id and says so, quoting it; the page shows that message as text.
    await expect.poll(() => page.locator('#error').textContent(), SETTLED).toContain('<img');
    await expect(page.locator('#error').textContent()).resolves.toContain('orderId');
    await expect(page.locator('img').count()).resolves.toBe(0);
    await expect(
      page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned),
    ).resolves.toBeUndefined();
    await expect(page.locator('#items').textContent()).resolves.toBe('none');
  });

  it('says so when the shop does not answer at all', async () => {
    let attempts = 0;
    await page.route('**/api/orders/*/items', (route) => {
      attempts++;
      return route.abort('connectionrefused');
    });
    expectedConsoleErrors.push('ERR_CONNECTION_REFUSED');
    await page.locator('[data-add="Meat"]').click();

    await expect.poll(() => attempts, SETTLED).toBe(3); // the click's first try and two retries
    await expect
      .poll(() => page.locator('#error').textContent(), SETTLED)
      .toBe('the shop did not answer; try again');
  });

  it('refreshes the order one at a time, a few times for a burst of log lines', async () => {
    await page.locator('[data-add="Meat"]').waitFor(); // the page has set itself up

    // A burst of log lines, each of which asks the page to refresh.
    const burst = 100;
    for (let i = 1; i <= burst; i++) {
      shop.log.add({
        kind: 'chaos',
        endpoint: 'test',
        messageType: undefined,
        messageId: undefined,
        text: `burst line ${i} of ${burst}`,
      });
    }
    await expect
      .poll(() => page.locator('#log li', { hasText: 'burst line' }).count(), SETTLED)
      .toBe(burst);

    // The refreshes the page has finished, as the page itself timed them (ms since it loaded).
    const finished = () =>
      page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .filter((entry) => new URL(entry.name).pathname.startsWith('/api/orders/'))
          .map((entry) => ({
            start: entry.startTime,
            end: (entry as unknown as { responseEnd: number }).responseEnd,
          })),
      );
    // The one on loading, and at least one the burst asked for.
    await expect.poll(async () => (await finished()).length, SETTLED).toBeGreaterThanOrEqual(2);
    const refreshes = await finished();
    const shown = JSON.stringify(refreshes.map(({ start, end }) => [start, end].map(Math.round)));
    expect(refreshes.length, `refreshes for ${burst} log lines: ${shown}`).toBeLessThan(10);
    refreshes.slice(1).forEach((next, i) => {
      const previous = refreshes[i] ?? next;
      expect(next.start, `one refresh at a time: ${shown}`).toBeGreaterThanOrEqual(previous.end);
    });
  });

  it('shows no counterexample panel for a shop that has none', async () => {
    // The page asks every shop; this one answers that it has no panel, and the panel stays hidden.
    const answers: unknown[] = [];
    await page.route('**/api/counterexample', async (route) => {
      const response = await route.fetch();
      answers.push(await response.json());
      await route.fulfill({ response });
    });
    await page.reload();
    await expect.poll(() => answers.length, SETTLED).toBeGreaterThan(0);
    expect(answers[0]).toEqual({ panel: false });
    // Let the page's script take the answer in (a turn of its event loop), then look.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
    await expect(page.locator('#counterexample').isHidden()).resolves.toBe(true);
  });

  it('the shop stops while a page is still open', async () => {
    // A shop of its own, so this test can stop it with the page (and its live log) connected.
    const second = await runShop({
      code: firstHandler,
      amqpUrl: iso().amqpUrl,
      databaseUrl: iso().databaseUrl,
      schema: iso().schema,
      prefix: `${iso().prefix}.second.`,
      onDeclare: (name) => iso().track(name),
      port: 0,
    });
    const open = await context.newPage();
    await open.goto(`${second.url}/`);
    await open.locator('[data-add="Meat"]').waitFor();

    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        second.close(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('close() waited 15 s for the open page: it hangs')),
            15_000,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await open.close();
    }
  });
});

describe.skipIf(!hasChromium)(
  `the counterexample panel in Chromium${hasChromium ? '' : ` (${SKIPPED})`}`,
  () => {
    it('draws the last counterexample as a diagram, and follows when a check finds another', async () => {
      const example: Counterexample = {
        title: 'two copies of AddItem add-1',
        invariant: 'no duplicate processing',
        steps: [
          { actor: 'copy A', to: 'inbox', action: 'check inbox' },
          { actor: 'copy B', action: 'crashes before "load order" and starts over' },
          { actor: 'copy B', to: 'orders', action: 'save order + outbox' },
        ],
        outcome: 'o-1 holds [Meat, Meat]',
      };
      let last: Counterexample | undefined;
      const app = createFrontend({
        frontend: new Endpoint({ name: 'frontend', transport: new MemoryTransport() }),
        orders: new Entities(new MemoryDocumentStore<Order>(), 'orders'),
        bills: new Entities(new MemoryDocumentStore<Bill>(), 'bills'),
        marketing: new Entities(new MemoryDocumentStore<FirstItems>(), 'marketing'),
        log: new LiveLog(),
        counterexample: async () => (last ? viewOfCounterexample(last) : undefined),
      });
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu'],
      });
      const errors: string[] = [];
      try {
        const page = await browser.newPage();
        page.on('pageerror', (error) => errors.push(error.message));
        page.on('console', (m) => {
          // This front has no chaos monkey and no error queue: the page's questions about them
          // get a 404, as they should.
          if (m.type() === 'error' && !m.text().includes('status of 404')) errors.push(m.text());
        });
        page.on(
          'request',
          (r) =>
            !r.url().startsWith(url) &&
            !r.url().startsWith('blob:') &&
            errors.push(`request to ${r.url()}`),
        );
        await page.goto(`${url}/`);
        await expect
          .poll(() => page.locator('#counterexample-title').textContent(), SETTLED)
          .toBe('none yet');
        await expect(page.locator('#counterexample-diagram').isHidden()).resolves.toBe(true);

        last = example; // a check found one: the page shows it at its next poll
        await expect
          .poll(() => page.locator('#counterexample-title').textContent(), SETTLED)
          .toBe('"no duplicate processing" broken — two copies of AddItem add-1');
        // The diagram is an image that loaded, and wide enough to read.
        await expect
          .poll(
            () =>
              page.locator('#counterexample-diagram img').evaluate((img) => {
                const image = img as unknown as { complete: boolean; naturalWidth: number };
                return image.complete ? image.naturalWidth : 0;
              }),
            SETTLED,
          )
          .toBeGreaterThan(300);
        await expect(page.locator('#counterexample-text').textContent()).resolves.toContain(
          '2. copy B: crashes before "load order" and starts over',
        );
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
        await app.close();
      }
    });
  },
);

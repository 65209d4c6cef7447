import { Endpoint, MemoryDocumentStore, MemoryTransport } from '@pierogi/shared';
import type { Counterexample } from '@pierogi/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type Bill, Entities, type FirstItems, type Order } from '../src/entities.ts';
import { viewOfCounterexample } from '../src/frontend/counterexampleView.ts';
import { createFrontend } from '../src/frontend/http.ts';
import { LiveLog } from '../src/liveLog.ts';

const example: Counterexample = {
  title: 'two copies of AddItem m-1',
  invariant: 'no duplicate processing',
  steps: [
    { actor: 'copy A', to: 'orders', action: 'saves o-1: 1 item', message: 'AddItem m-1' },
    { actor: 'copy B', action: 'crashes' },
    { actor: 'copy B', to: 'orders', action: 'saves o-1: 2 items', message: 'AddItem m-1' },
  ],
  outcome: 'o-1 holds 2 items',
};

function frontendWith(panel?: () => Promise<ReturnType<typeof viewOfCounterexample> | undefined>) {
  const transport = new MemoryTransport();
  return createFrontend({
    frontend: new Endpoint({ name: 'frontend', transport }),
    orders: new Entities(new MemoryDocumentStore<Order>(), 'orders'),
    bills: new Entities(new MemoryDocumentStore<Bill>(), 'bills'),
    marketing: new Entities(new MemoryDocumentStore<FirstItems>(), 'marketing'),
    log: new LiveLog(),
    ...(panel ? { counterexample: panel } : {}),
  });
}

describe("the page's counterexample panel", () => {
  let app: ReturnType<typeof frontendWith> | undefined;
  afterEach(async () => {
    await app?.close();
  });

  it('draws the counterexample as an SVG sequence diagram that fetches nothing', () => {
    const view = viewOfCounterexample(example, '2026-12-02T10:00:00.000Z');
    expect(view.svg.startsWith('<svg')).toBe(true);
    for (const text of ['copy A', 'copy B', 'orders', '1. saves o-1', '2. crashes']) {
      expect(view.svg).toContain(text);
    }
    expect(view.svg).not.toMatch(/@import|https?:\/\/(?!www\.w3\.org)/);
    expect(view.text).toContain('  3. copy B → orders: saves o-1: 2 items (AddItem m-1)');
    expect(view.foundAt).toBe('2026-12-02T10:00:00.000Z');
  });

  it('the API answers with the last one, says "none yet" before any, and says "no panel" for other exercises', async () => {
    let last: Counterexample | undefined;
    app = frontendWith(async () => (last ? viewOfCounterexample(last) : undefined));
    const before = await app.inject({ method: 'GET', url: '/api/counterexample' });
    expect(before.statusCode).toBe(200);
    expect(before.json()).toMatchObject({
      title: 'none yet',
      message: expect.stringMatching(/pnpm check/),
    });
    last = example;
    const after = await app.inject({ method: 'GET', url: '/api/counterexample' });
    expect(after.json()).toMatchObject({
      invariant: 'no duplicate processing',
      svg: expect.stringMatching(/^<svg/),
    });
    await app.close();

    app = frontendWith();
    const none = await app.inject({ method: 'GET', url: '/api/counterexample' });
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual({ panel: false });
  });
});

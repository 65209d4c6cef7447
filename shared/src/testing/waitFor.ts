/**
 * Waits until `condition` holds, checking every few milliseconds, and fails on the deadline with
 * what was awaited. Use it instead of sleeping: a test waits exactly as long as it must.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; what: string | (() => string) },
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() >= deadline) {
      const what = typeof options.what === 'function' ? options.what() : options.what;
      throw new Error(`waited ${timeoutMs} ms for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Collects what handlers saw, so a test can wait for "n of them" and then assert on them. */
export class Recorder<T> {
  readonly items: T[] = [];

  push = (item: T): void => {
    this.items.push(item);
  };

  get count(): number {
    return this.items.length;
  }

  async waitForCount(count: number, what: string, timeoutMs?: number): Promise<T[]> {
    await waitFor(() => this.items.length >= count, {
      timeoutMs,
      what: () => `${what} (${this.items.length} of ${count} so far)`,
    });
    return this.items;
  }
}

/** A promise the test resolves when it chooses: holds a handler in the middle of its work. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

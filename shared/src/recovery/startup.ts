import { createLogger, type Logger } from '../log/logger.ts';

export interface UntilAvailableOptions {
  /** Give up after this long. Default 30 s. */
  readonly timeoutMs?: number;
  /** The first wait; each next one doubles, up to 2 s. Default 200 ms. */
  readonly firstDelayMs?: number;
  /** Whether a failure may heal by waiting (default: every failure). */
  readonly transient?: (error: unknown) => boolean;
  readonly logger?: Logger;
}

/**
 * Runs `work` until it succeeds, for a bounded time: a server that is restarting, or a database
 * with too many clients for a moment, is waited for instead of ending the start-up at once. Each
 * wait says what it waits for and why; after `timeoutMs` the last failure is thrown.
 */
export async function untilAvailable<T>(
  what: string,
  work: () => Promise<T>,
  options: UntilAvailableOptions = {},
): Promise<T> {
  const log = (options.logger ?? createLogger()).child({ component: 'start-up' });
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let delayMs = options.firstDelayMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await work();
      if (attempt > 1) log.info(`${what}: available`);
      return result;
    } catch (error) {
      const transient = options.transient?.(error) ?? true;
      if (!transient || Date.now() + delayMs > deadline) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      log.warn(`waiting for ${what} (${reason}); trying again in ${delayMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 2_000);
    }
  }
}

import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * A structured logger. Pretty and coloured when a person watches a terminal, JSON lines otherwise
 * (pipe them to `pino-pretty` to read). `LOG_LEVEL` sets the level; tests are silent by default.
 */
export function createLogger(options: { name?: string; level?: string } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  const base = { name: options.name, level };
  if (process.stdout.isTTY) {
    return pino(
      base,
      pretty({
        colorize: true,
        sync: true,
        singleLine: true, // one line per event: readable on a projector
        translateTime: 'HH:MM:ss.l',
        ignore: 'pid,hostname,name,endpoint',
        messageFormat: '{if endpoint}{endpoint}: {end}{msg}',
      }),
    );
  }
  return pino(base);
}

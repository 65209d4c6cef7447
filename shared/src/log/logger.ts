import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * A structured logger that prints readable lines, one per event (coloured when a person watches
 * a terminal). `LOG_FORMAT=json` prints JSON lines instead, for machines; `LOG_LEVEL` sets the
 * level; tests are silent by default.
 */
export function createLogger(options: { name?: string; level?: string } = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  const base = { name: options.name, level };
  if (process.env.LOG_FORMAT !== 'json') {
    return pino(
      base,
      pretty({
        colorize: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
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

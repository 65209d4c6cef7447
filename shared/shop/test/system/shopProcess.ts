import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ShopPart } from '../../src/runShop.ts';

export interface ShopProcessOptions {
  readonly part: ShopPart;
  /** The repository's root: the shop code's path and the entry point are relative to it. */
  readonly root: string;
  /** Settings for shared/workshop/src/shopProcess.ts (SHOP_CODE, SHOP_SCHEMA, CHAOS_RULES, …). */
  readonly env: Readonly<Record<string, string>>;
  /** Every line the process prints goes here, as printed. */
  readonly logFile: string;
  /** Told each queue or exchange the process declares, to delete it afterwards. */
  readonly onDeclare: (name: string) => void;
}

interface LogLine {
  readonly time?: number;
  readonly level?: number;
  readonly msg?: string;
  readonly endpoint?: string;
  readonly declared?: string;
  readonly url?: string;
  readonly kind?: string;
  readonly step?: string;
  readonly messageType?: string;
  readonly err?: { message?: string };
}

/** The workshop's runner of one part of a shop, relative to the repository's root. */
export const SHOP_PROCESS = 'shared/workshop/src/shopProcess.ts';

/** How long a process may take to say it is ready (a restart included). */
export const START_TIMEOUT_MS = 30_000;

/** The processes running now: killed if the test's own process exits first. */
const living = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of living) child.kill('SIGKILL');
});

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/**
 * One part of the shop in an OS process of its own (SHOP_PROCESS under tsx): start it, kill it,
 * start it again. Keeps its last log lines, readable, for a failure report, and counts the chaos
 * monkey's injections from its log.
 */
export class ShopProcess {
  readonly part: ShopPart;
  /** 1 for the first start, 2 after a restart, … */
  incarnation = 0;
  /** The page's address, once a frontend is ready. */
  url: string | undefined;
  /** Chaos injections seen in the log, by "kind at step" (summed over incarnations). */
  readonly injections = new Map<string, number>();
  private readonly recent: string[] = [];
  private child: ChildProcess | undefined;
  /** Resolves once the process has exited and its output is read to the end. */
  private closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  /** False once the log file cannot be written (its folder removed): the lines are kept only. */
  private logging = true;

  constructor(private readonly options: ShopProcessOptions) {
    this.part = options.part;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and waits until it says it is ready (or fails, with its last lines). */
  async start(
    extraEnv: Readonly<Record<string, string>> = {},
    timeoutMs = START_TIMEOUT_MS,
  ): Promise<void> {
    this.incarnation++;
    this.note(`--- ${this.part} #${this.incarnation} starting`);
    const child = spawn(process.execPath, ['--import', 'tsx', SHOP_PROCESS], {
      cwd: this.options.root,
      env: {
        ...process.env,
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json', // read back line by line: the ready line, the injections
        ...this.options.env,
        ...extraEnv,
        SHOP_PARTS: this.part,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    living.add(child);
    // 'close', not 'exit': the last lines it printed are read (and logged) before it counts as gone.
    this.closed = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        living.delete(child);
        this.note(`--- ${this.part} #${this.incarnation} exited (${signal ?? `code ${code}`})`);
        resolve({ code, signal });
      }),
    );
    let ready: () => void = () => {};
    const isReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const onLine = (line: string) => {
      const parsed = this.read(line);
      if (parsed?.msg?.startsWith('ready')) {
        this.url = parsed.url ?? this.url;
        ready();
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      isReady.then(() => 'ready' as const),
      this.closed.then(() => 'exited' as const),
      new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome !== 'ready') {
      throw new Error(
        `the ${this.part} process ${outcome === 'late' ? `was not ready within ${timeoutMs} ms` : 'exited before it was ready'}:\n${this.lastLines(20)}`,
      );
    }
  }

  /**
   * Sends `signal` and waits for the process to end and its output to be read; SIGKILL if it has
   * not ended after `timeoutMs`.
   */
  async stop(
    signal: NodeJS.Signals,
    timeoutMs = 15_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; forced: boolean }> {
    const child = this.child;
    const closed = this.closed;
    if (!child || !closed) throw new Error(`the ${this.part} process was never started`);
    if (child.exitCode !== null || child.signalCode !== null) {
      return { ...(await closed), forced: false };
    }
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    const first = await Promise.race([closed, late]);
    clearTimeout(timer);
    if (first !== 'late') return { ...first, forced: false };
    child.kill('SIGKILL');
    return { ...(await closed), forced: true };
  }

  /** Whether the process runs now. */
  get running(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** The last `n` lines it printed, readable: time, level, endpoint, message, error. */
  lastLines(n: number): string {
    return this.recent
      .slice(-n)
      .map((line) => `    ${line}`)
      .join('\n');
  }

  private read(line: string): LogLine | undefined {
    this.append(line);
    let parsed: LogLine | undefined;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      this.note(line);
      return undefined;
    }
    if (parsed.declared) {
      this.options.onDeclare(parsed.declared);
      return parsed;
    }
    if (parsed.msg?.startsWith('chaos:') && parsed.kind) {
      const key = parsed.step ? `${parsed.kind} at ${parsed.step}` : parsed.kind;
      this.injections.set(key, (this.injections.get(key) ?? 0) + 1);
    }
    this.note(readable(parsed));
    return parsed;
  }

  /** Appends to the log file, unless it is gone (the test removed its folder after passing). */
  private append(line: string): void {
    if (!this.logging) return;
    try {
      appendFileSync(this.options.logFile, `${line}\n`);
    } catch {
      this.logging = false;
    }
  }

  private note(line: string): void {
    this.recent.push(line);
    if (this.recent.length > 200) this.recent.splice(0, this.recent.length - 200);
  }
}

function readable(line: LogLine): string {
  const time = line.time ? new Date(line.time).toISOString().slice(11, 23) : '';
  const level = LEVELS[line.level ?? 30] ?? String(line.level);
  const where = line.endpoint ? `${line.endpoint}: ` : '';
  const error = line.err?.message ? ` — ${line.err.message}` : '';
  return `${time} ${level.padEnd(5)} ${where}${line.msg ?? ''}${error}`;
}

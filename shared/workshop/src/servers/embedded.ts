import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MEMORY_BROKER_URL } from '@pierogi/shared';
import { ROOT } from '../exercises.ts';
import { startEmbeddedDatabase } from './embeddedDatabase.ts';
import { probeDatabase } from './probe.ts';
import type { ServerKind } from './urls.ts';

export interface StartedEmbedded {
  url: string;
  stop(): Promise<void>;
  /** Where it runs, when not in this process: the workshop command whose database this joined. */
  sharedWith?: string;
  /** For a joined database: calls `lost` when the process that serves it stops. */
  whenGone?: (lost: (why: string) => void) => void;
}

/** The ignored folder where embedded mode keeps what it keeps. */
export const EMBEDDED_HOME = path.join(ROOT, '.workshop', 'embedded');

/** Where `pnpm start`, `pnpm exercise` and `pnpm solution` keep their data in embedded mode. */
export const EMBEDDED_DATA_DIR = path.join(EMBEDDED_HOME, 'postgres');

/** What embedded mode cannot show, said in the banner and by `pnpm doctor`. */
export const EMBEDDED_LIMITS =
  'a broker that crashes, or the shop split over several processes; and Postgres runs one transaction at a time';

/**
 * Starts the embedded server of one kind: the in-memory broker (a URL the shop turns into an
 * in-memory transport) or PGlite behind a local port. With `dataDir`, the database keeps its
 * data there between runs, and a second process of the workshop joins the first one's database
 * instead of opening the same files twice.
 */
export async function startEmbedded(
  kind: ServerKind,
  options: { dataDir?: string } = {},
): Promise<StartedEmbedded> {
  if (kind === 'broker') return { url: MEMORY_BROKER_URL, stop: async () => {} };
  const { dataDir } = options;
  if (!dataDir) {
    const database = await startEmbeddedDatabase({
      templateFile: path.join(EMBEDDED_HOME, 'template.tar'),
    });
    return { url: database.url, stop: () => database.stop() };
  }
  mkdirSync(dataDir, { recursive: true });
  const claim = path.join(dataDir, '..', 'postgres.json');
  for (let attempt = 0; ; attempt++) {
    // Claimed before it opens the files (an exclusive create): two commands started together
    // never open the same data folder twice; the second one joins the first.
    if (tryClaim(claim)) break;
    const running = await runningElsewhere(claim);
    if (running) {
      return {
        url: running.url,
        stop: async () => {},
        sharedWith: `process ${running.pid}`,
        whenGone: (lost) => watch(running.pid, lost),
      };
    }
    if (attempt >= 1) {
      throw new Error(
        `another workshop command holds the embedded database (${claim}) and does not answer: stop it, or delete that file if no such command runs`,
      );
    }
  }
  try {
    const database = await startEmbeddedDatabase({ dataDir });
    writeFileSync(claim, JSON.stringify({ pid: process.pid, url: database.url }));
    return {
      url: database.url,
      async stop() {
        try {
          await database.stop();
        } finally {
          rmSync(claim, { force: true });
        }
      },
    };
  } catch (error) {
    rmSync(claim, { force: true });
    throw new Error(
      `the embedded database in ${dataDir} did not start (${error instanceof Error ? error.message : String(error)}); if its files are damaged, delete that folder to start afresh (its orders are lost)`,
    );
  }
}

/** Creates the claim file for this process; false when one exists already. */
function tryClaim(claim: string): boolean {
  try {
    writeFileSync(claim, JSON.stringify({ pid: process.pid }), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * The embedded database another live process serves from the same folder. It may still be
 * starting (no URL yet): waited for, up to 30 s. A claim left by a process that died is removed.
 */
async function runningElsewhere(claim: string): Promise<{ url: string; pid: number } | undefined> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    let content: { pid?: number; url?: string } | undefined;
    try {
      content = JSON.parse(readFileSync(claim, 'utf8')) as { pid?: number; url?: string };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      content = undefined; // being written, or garbage: looked at again below
    }
    const pid = content?.pid;
    if (pid !== undefined && (pid === process.pid || !alive(pid))) {
      rmSync(claim, { force: true }); // left by a process that is gone
      return undefined;
    }
    if (pid !== undefined && content?.url && (await probeDatabase(content.url, 2_000)).ok) {
      return { url: content.url, pid };
    }
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Calls `lost` once the process `pid` is gone (checked every second, not keeping Node alive). */
function watch(pid: number, lost: (why: string) => void): void {
  const timer = setInterval(() => {
    if (alive(pid)) return;
    clearInterval(timer);
    lost(
      `the embedded database lived in the workshop command with process id ${pid}, which has stopped`,
    );
  }, 1_000);
  timer.unref();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

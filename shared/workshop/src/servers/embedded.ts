import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
}

/** The ignored folder where embedded mode keeps what it keeps. */
export const EMBEDDED_HOME = path.join(ROOT, '.workshop', 'embedded');

/** Where `pnpm start`, `pnpm exercise` and `pnpm solution` keep their data in embedded mode. */
export const EMBEDDED_DATA_DIR = path.join(EMBEDDED_HOME, 'postgres');

/** What embedded mode cannot show, said in the banner and by `pnpm doctor`. */
export const EMBEDDED_LIMITS =
  'the broker lives in this process (no broker crash to survive, no second process), and Postgres runs one transaction at a time';

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
  const running = await runningElsewhere(claim);
  if (running) {
    return { url: running.url, stop: async () => {}, sharedWith: `process ${running.pid}` };
  }
  const database = await startEmbeddedDatabase({ dataDir });
  writeFileSync(claim, JSON.stringify({ pid: process.pid, url: database.url }));
  return {
    url: database.url,
    async stop() {
      rmSync(claim, { force: true });
      await database.stop();
    },
  };
}

/** The URL of the embedded database another live process serves from the same folder, if any. */
async function runningElsewhere(claim: string): Promise<{ url: string; pid: number } | undefined> {
  if (!existsSync(claim)) return undefined;
  try {
    const { pid, url } = JSON.parse(readFileSync(claim, 'utf8')) as { pid: number; url: string };
    if (pid !== process.pid && alive(pid) && (await probeDatabase(url, 2_000)).ok) {
      return { url, pid };
    }
  } catch {
    // unreadable: left by a process that died; start afresh
  }
  rmSync(claim, { force: true });
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

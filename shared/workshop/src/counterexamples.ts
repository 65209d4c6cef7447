import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Counterexample } from '@pierogi/shared/testing';
import { type CounterexamplePanel, viewOfCounterexample } from '@pierogi/shop';
import { ROOT } from './exercises.ts';

/**
 * The last thing a check of exercises 16 and 17 found — a counterexample, or that the code holds —
 * kept in a file per exercise folder, so that `pnpm exercise NN` in another terminal shows it on
 * the page.
 */
export const COUNTEREXAMPLES_DIR = path.join(ROOT, '.workshop', 'counterexamples');

type Record =
  | { readonly savedAt: string; readonly counterexample: Counterexample }
  | { readonly savedAt: string; readonly holds: string };

/** The file of a code folder (`exercises/16-every-interleaving`, relative to the repository). */
function fileOf(codeFolder: string): string {
  const name = path
    .relative(ROOT, path.resolve(ROOT, codeFolder))
    .split(path.sep)
    .join('-')
    .replace(/[^\w.-]/g, '_');
  return path.join(COUNTEREXAMPLES_DIR, `${name}.json`);
}

async function save(codeFolder: string, record: Record): Promise<void> {
  const file = fileOf(codeFolder);
  await mkdir(path.dirname(file), { recursive: true });
  // Written aside and renamed, so the page never reads half a file.
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, `${JSON.stringify(record, null, 2)}\n`);
  await rename(partial, file);
}

/** Keeps the counterexample a check found in `codeFolder`'s code, for the page. */
export function recordCounterexample(codeFolder: string, example: Counterexample): Promise<void> {
  return save(codeFolder, { savedAt: new Date().toISOString(), counterexample: example });
}

/** Keeps that the code in `codeFolder` holds (`summary` says over what), for the page. */
export function recordHolds(codeFolder: string, summary: string): Promise<void> {
  return save(codeFolder, { savedAt: new Date().toISOString(), holds: summary });
}

/** What the page's counterexample panel shows for `codeFolder`: undefined before any check ran. */
export async function counterexamplePanel(
  codeFolder: string,
): Promise<CounterexamplePanel | undefined> {
  let record: Record;
  try {
    record = JSON.parse(await readFile(fileOf(codeFolder), 'utf8')) as Record;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { title: 'unreadable', message: `could not read the last check's result: ${error}` };
  }
  if ('holds' in record) {
    return {
      title: 'none: the last check found none',
      message: `${record.holds} (${new Date(record.savedAt).toLocaleTimeString()})`,
    };
  }
  return viewOfCounterexample(record.counterexample, record.savedAt);
}

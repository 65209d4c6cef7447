// Plain JavaScript on purpose: `pnpm exercises` runs this with Node alone, with no TypeScript
// loader to start, so the list prints at once. Types: exerciseList.d.mts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function listExercises() {
  return readdirSync(path.join(ROOT, 'exercises'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^\d\d-/.test(entry.name))
    .map((entry) => {
      const number = entry.name.slice(0, 2);
      const slug = entry.name.slice(3);
      return {
        number,
        slug,
        title: titleOf(path.join(ROOT, 'exercises', entry.name, 'README.md')) ?? slug,
        exercise: `exercises/${entry.name}`,
        solution: `solutions/${entry.name}`,
      };
    })
    .sort((a, b) => a.number.localeCompare(b.number));
}

export function printExercises(json = false) {
  const all = listExercises();
  if (json) {
    console.log(JSON.stringify(all, null, 2));
    return;
  }
  for (const e of all) console.log(`${e.number}  ${e.title.padEnd(48)} ${e.exercise}`);
  console.log('\nStart one with `pnpm exercise NN`; check it with `pnpm check NN`.');
}

function titleOf(readme) {
  if (!existsSync(readme)) return undefined;
  const heading = readFileSync(readme, 'utf8').match(/^#\s+(.+)$/m)?.[1];
  return heading?.replace(/^\d+\.?\s*[—–-]?\s*/, '').trim();
}

// `node exerciseList.mjs [--json]`: what `pnpm exercises` runs.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  printExercises(process.argv.includes('--json'));
}

/**
 * `pnpm doctor`: checks what the workshop needs and says what to do about each problem.
 * Exits 0 only when nothing needed is missing (warnings are about optional things).
 */
import { type CheckResult, type CheckStatus, runChecks } from './doctorChecks.ts';

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
const MARK: Record<CheckStatus, string> = {
  ok: paint(32, '✔'),
  warn: paint(33, '!'),
  fail: paint(31, '✘'),
};

function format(result: CheckResult): string {
  const line = `  ${MARK[result.status]} ${result.name.padEnd(11)} ${result.detail}`;
  return result.fix && result.status !== 'ok' ? `${line}\n${' '.repeat(16)}→ ${result.fix}` : line;
}

async function main(): Promise<number> {
  console.log('Checking what the workshop needs…\n');
  const results = await runChecks();
  for (const result of results) console.log(format(result));
  const failures = results.filter((r) => r.status === 'fail').length;
  console.log(
    failures === 0
      ? `\n${paint(32, 'All set.')} Next: \`pnpm exercises\` to start the workshop, or \`pnpm start\` to see the whole shop.`
      : `\n${paint(31, `${failures} problem${failures > 1 ? 's' : ''} found.`)} Fix ${failures > 1 ? 'them' : 'it'} and run \`pnpm doctor\` again.`,
  );
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(
      `doctor itself failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(2);
  },
);

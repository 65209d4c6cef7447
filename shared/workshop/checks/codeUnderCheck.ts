import path from 'node:path';

/**
 * The folder of the shop code a check runs against (the exercise's or its solution's): SHOP_CODE,
 * relative to the repository root. Apart from harness.ts, which loads the whole shop, so that a
 * check that starts no shop itself can ask too.
 */
export function codeUnderCheck(): string {
  const code = process.env.SHOP_CODE;
  if (!code) throw new Error('SHOP_CODE is not set: run checks with `pnpm check NN`');
  return code;
}

/** A file of the shop code under check, as the attendee would open it. */
export function fileToOpen(relative: string): string {
  return path.join(codeUnderCheck(), relative);
}

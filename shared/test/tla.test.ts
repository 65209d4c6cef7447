import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import Parser from 'web-tree-sitter';

const root = fileURLToPath(new URL('../../', import.meta.url));
let parser: Parser;

/** Every `.tla` file of the repository (outside node_modules), relative to its root. */
function tlaFiles(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tlaFiles(full);
    return entry.name.endsWith('.tla') ? [path.relative(root, full)] : [];
  });
}
const files = tlaFiles();

/** Where the parse failed, as `line:column` (empty when the module parses). */
function syntaxErrors(source: string): string[] {
  const errors: string[] = [];
  const walk = (node: Parser.SyntaxNode) => {
    if (node.type === 'ERROR' || node.isMissing) {
      errors.push(
        `${node.isMissing ? 'missing' : 'unexpected'} ${node.type} at ${node.startPosition.row + 1}:${node.startPosition.column + 1}`,
      );
    }
    node.children.forEach(walk);
  };
  walk(parser.parse(source).rootNode);
  return errors;
}

/** The operators a module defines (`Name ==`, `Name(x) ==`) and the constants it declares. */
function namesOf(source: string): { operators: Set<string>; constants: Set<string> } {
  const code = source.replace(/\(\*[\s\S]*?\*\)/g, '').replace(/\\\*.*$/gm, '');
  const operators = new Set(
    [...code.matchAll(/^\s*([A-Za-z]\w*)\s*(?:\([^)]*\))?\s*==/gm)].map((m) => m[1] as string),
  );
  const constants = new Set<string>();
  for (const block of code.matchAll(
    /^CONSTANTS?\s+([\s\S]*?)(?=^\s*$|^VARIABLES?\b|^[A-Z]\w*\s*==)/gm,
  )) {
    for (const name of (block[1] as string).matchAll(/([A-Za-z]\w*)/g))
      constants.add(name[1] as string);
  }
  return { operators, constants };
}

/**
 * What a TLC config names that the module does not define: the operators after INIT, NEXT,
 * SPECIFICATION, INVARIANT(S) and PROPERTY(IES), and the constants given values.
 */
function unknownNames(cfg: string, module: string): string[] {
  const { operators, constants } = namesOf(module);
  const unknown: string[] = [];
  let section = '';
  for (const raw of cfg.split('\n')) {
    const line = raw.replace(/\\\*.*$/, '').trim();
    if (!line) continue;
    const keyword =
      /^(CONSTANTS?|INIT|NEXT|SPECIFICATION|INVARIANTS?|PROPERT(?:Y|IES)|CHECK_DEADLOCK|SYMMETRY|VIEW|CONSTRAINTS?)\b\s*(.*)$/.exec(
        line,
      );
    if (keyword) section = (keyword[1] as string).replace(/S$|IES$|Y$/, '');
    const rest = keyword ? (keyword[2] as string) : line;
    if (!rest || section === 'CHECK_DEADLOCK') continue;
    if (section === 'CONSTANT') {
      const name = /^([A-Za-z]\w*)\s*(=|<-)/.exec(rest)?.[1];
      if (name && !constants.has(name)) unknown.push(`constant ${name}`);
    } else {
      for (const name of rest.split(/\s+/))
        if (!operators.has(name)) unknown.push(`${section} ${name}`);
    }
  }
  return unknown;
}

describe('TLA+ specs', () => {
  beforeAll(async () => {
    await Parser.init();
    const wasm = createRequire(import.meta.url).resolve(
      '@tlaplus/tree-sitter-tlaplus/tree-sitter-tlaplus.wasm',
    );
    parser = new Parser();
    parser.setLanguage(await Parser.Language.load(wasm));
  });

  it('the parser rejects a broken module (so the checks below can fail)', () => {
    expect(syntaxErrors('---- MODULE Broken ----\nNext == /\\ \n====')).not.toEqual([]);
  });

  it('a config naming what the module does not define is caught (so the checks below can fail)', () => {
    const module =
      "---- MODULE M ----\nCONSTANTS N, K\nVARIABLE x\nInit == x = 0\nNext == x' = x + 1\nInv(y) == TRUE\n====";
    expect(unknownNames('CONSTANTS\n  N = 1\nINIT Init\nNEXT Next\nINVARIANT Inv', module)).toEqual(
      [],
    );
    expect(
      unknownNames(
        'CONSTANTS\n  N = 1\n  M = 2\nINIT Init\nNEXT Nxt\nINVARIANTS\n  Inv\n  Safe',
        module,
      ),
    ).toEqual(['constant M', 'NEXT Nxt', 'INVARIANT Safe']);
  });

  it("there are specs to check: the library's and the exercise's", () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'shared/tla/MessageHandler.tla',
        'shared/tla/OutboxInbox.tla',
        'solutions/17-model-checking/tla/HandlerSteps.tla',
        'solutions/17-model-checking/tla/FlawedHandlers.tla',
      ]),
    );
  });

  for (const file of files) {
    it(`${file} parses, names the TypeScript model it mirrors, and has a config beside it that names only what it defines`, () => {
      const source = readFileSync(path.join(root, file), 'utf8');
      expect(syntaxErrors(source)).toEqual([]);
      const mirrored = /Mirrors (\S+\.ts)/.exec(source)?.[1];
      expect(mirrored, 'a "Mirrors path/to/model.ts" line in the header comment').toBeDefined();
      expect(existsSync(path.join(root, mirrored as string)), `${mirrored} exists`).toBe(true);
      const cfgFile = path.join(root, file.replace(/\.tla$/, '.cfg'));
      expect(existsSync(cfgFile), `${file.replace(/\.tla$/, '.cfg')} beside it, for TLC`).toBe(
        true,
      );
      const cfg = readFileSync(cfgFile, 'utf8');
      expect(cfg).toMatch(/^(INIT|SPECIFICATION)\b/m);
      expect(cfg).toMatch(/^INVARIANTS?\b/m);
      expect(unknownNames(cfg, source)).toEqual([]);
    });
  }
});

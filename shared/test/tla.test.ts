import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import Parser from 'web-tree-sitter';

const tlaDir = new URL('../tla/', import.meta.url);
const shared = new URL('../', import.meta.url);
const files = readdirSync(tlaDir).filter((f) => f.endsWith('.tla'));
let parser: Parser;

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

describe('TLA+ companions', () => {
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

  it('there are companions to check', () => {
    expect(files).toEqual(expect.arrayContaining(['MessageHandler.tla', 'OutboxInbox.tla']));
  });

  for (const file of files) {
    it(`${file} parses, and names the TypeScript model it mirrors`, () => {
      const source = readFileSync(new URL(file, tlaDir), 'utf8');
      expect(syntaxErrors(source)).toEqual([]);
      const mirrored = /Mirrors (shared\/\S+\.ts)/.exec(source)?.[1];
      expect(mirrored, 'a "Mirrors shared/…ts" line in the header comment').toBeDefined();
      expect(() => readFileSync(new URL(`../${mirrored}`, shared))).not.toThrow();
    });
  }
});

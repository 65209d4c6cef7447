/** A body the API refuses, with the reason to show the client. */
export class BadJsonError extends Error {
  override name = 'BadJsonError';
}

/** Keys that would reach an object's prototype in careless code: refused by name. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parses a request body as JSON, more strictly than `JSON.parse`: a leading byte order mark, a
 * key given twice in one object (JSON.parse keeps the last, silently) and prototype keys are
 * refused, each with a message that says which. The text must have passed `JSON.parse` first.
 */
export function parseStrictJson(text: string): unknown {
  if (text.startsWith('\uFEFF')) {
    throw new BadJsonError(
      'the body starts with a byte order mark (U+FEFF); send plain UTF-8 JSON without one',
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BadJsonError(
      `the body is not valid JSON (${(error as Error).message}); send e.g. {"filling": "Meat"}`,
    );
  }
  checkKeys(text);
  return value;
}

/** Walks the (valid) JSON text and refuses a repeated or forbidden key in any object. */
function checkKeys(text: string): void {
  const frames: { keys: Set<string> | undefined; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = frames.at(-1);
    if (c === '{') frames.push({ keys: new Set(), expectKey: true });
    else if (c === '[') frames.push({ keys: undefined, expectKey: false });
    else if (c === '}' || c === ']') frames.pop();
    else if (c === ',' && top?.keys) top.expectKey = true;
    else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (FORBIDDEN_KEYS.has(key)) {
          throw new BadJsonError(`the key ${JSON.stringify(key)} is not allowed in a body`);
        }
        if (top.keys.has(key)) {
          throw new BadJsonError(
            `the key ${JSON.stringify(key)} appears twice in one object; send it once`,
          );
        }
        top.keys.add(key);
        top.expectKey = false;
      }
      i = end;
    }
  }
}

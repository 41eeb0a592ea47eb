/**
 * JSON from the broker, read at a bounded cost. `JSON.parse` is fast and iterative in V8 for
 * flat input but recursive in nesting (a body of `[[[[…` overflows the stack, after seconds), and
 * a reviver makes it ten times slower. So: a linear scan refuses deep nesting before
 * `JSON.parse` runs, the parse itself is plain, and the forbidden-key check is an iterative walk
 * of the result with a cap on the number of values.
 */

/** What `scanJson` learnt from one pass over the text. */
export type JsonScan =
  | {
      ok: true;
      /** The deepest nesting of objects and arrays. */
      depth: number;
      /** The first significant character is `"`: the text is a JSON string (maybe JSON encoded twice). */
      isString: boolean;
      /** Length, in the text, of the longest string value written after a `"base64"` key (0: none). */
      base64ValueLength: number;
    }
  /** Nested deeper than `maxDepth`, or more than `maxOutsideBase64` characters outside base64 values. */
  | { ok: false; kind: 'too-deep' | 'too-large'; offset: number };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

const isJsonWhitespace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * One linear pass: nesting depth (stops as soon as it passes `maxDepth`), and where the bulk of
 * a media command sits. String contents are skipped with `indexOf` (a megabyte of base64 costs
 * a memchr, not a loop in JavaScript), honouring backslash escapes. With `maxOutsideBase64`, the
 * scan also stops once that many characters have been seen outside the values of `"base64"`
 * keys (unless the whole text is one JSON string): the rest of a media command must be small.
 * The text need not be valid JSON: whatever the scan does not judge, `JSON.parse` will.
 */
export function scanJson(text: string, maxDepth: number, maxOutsideBase64 = Infinity): JsonScan {
  let inBase64Values = 0;
  let depth = 0;
  let deepest = 0;
  let isString: boolean | undefined;
  let base64ValueLength = 0;
  // The last token was the string "base64" / the last tokens were `"base64" :`.
  let afterBase64Key = false;
  let expectBase64Value = false;
  const n = text.length;
  for (let i = 0; i < n;) {
    if (i - inBase64Values > maxOutsideBase64 && isString !== true) return { ok: false, kind: 'too-large', offset: i };
    const c = text.charCodeAt(i);
    if (isJsonWhitespace(c)) {
      i++;
      continue;
    }
    isString ??= c === QUOTE;
    if (c === QUOTE) {
      let end = i + 1;
      for (;;) {
        end = text.indexOf('"', end);
        if (end === -1) return { ok: true, depth: deepest, isString, base64ValueLength }; // unterminated: JSON.parse says so
        let backslashes = 0;
        for (let k = end - 1; k > i && text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
        if (backslashes % 2 === 0) break;
        end++;
      }
      const length = end - i - 1;
      if (expectBase64Value) {
        inBase64Values += length;
        if (length > base64ValueLength) base64ValueLength = length;
      }
      afterBase64Key = length === 6 && text.startsWith('base64', i + 1);
      expectBase64Value = false;
      i = end + 1;
      continue;
    }
    if (c === COLON) {
      expectBase64Value = afterBase64Key;
      afterBase64Key = false;
      i++;
      continue;
    }
    afterBase64Key = false;
    expectBase64Value = false;
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > maxDepth) return { ok: false, kind: 'too-deep', offset: i };
      if (depth > deepest) deepest = depth;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
    i++;
  }
  return { ok: true, depth: deepest, isString: isString ?? false, base64ValueLength };
}

/** The names no command may use at any depth: what prototype pollution is made of. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type WalkResult =
  { ok: true; values: number } | { ok: false; kind: 'forbidden-key'; key: string; path: string } | { ok: false; kind: 'too-many-values'; limit: number };

/**
 * Visits every object and array of a parsed JSON value, iteratively (no recursion, so no stack
 * to overflow whatever the nesting), counting keys and elements up to `maxValues`, and stops at
 * the first forbidden key. A plain `JSON.parse` defines `__proto__` as an own property and
 * pollutes nothing, so the value is safe to read for a hint even when it is refused.
 */
export function walkJson(value: unknown, maxValues: number): WalkResult {
  if (typeof value !== 'object' || value === null) return { ok: true, values: 1 };
  const stack: { node: object; path: string }[] = [{ node: value, path: '' }];
  let values = 1;
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (Array.isArray(node)) {
      values += node.length;
      if (values > maxValues) return { ok: false, kind: 'too-many-values', limit: maxValues };
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (typeof child === 'object' && child !== null) stack.push({ node: child, path: `${path}[${i}]` });
      }
      continue;
    }
    const keys = Object.keys(node);
    values += keys.length;
    if (values > maxValues) return { ok: false, kind: 'too-many-values', limit: maxValues };
    for (const key of keys) {
      if (FORBIDDEN_KEYS.has(key)) return { ok: false, kind: 'forbidden-key', key, path: path ? `${path}.${key}` : key };
      const child: unknown = (node as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) stack.push({ node: child, path: path ? `${path}.${key}` : key });
    }
  }
  return { ok: true, values };
}

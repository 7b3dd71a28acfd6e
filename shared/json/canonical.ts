// SPDX-License-Identifier: Apache-2.0
// Canonical JSON exactly as Notary v1 signs and verifies it (docker/go
// canonical/json MarshalCanonical over a generically decoded value):
//   - no whitespace; object keys sorted by UTF-8 byte order; arrays keep order;
//   - strings escape only `"` and `\`; every other character, control bytes
//     included, is written raw as UTF-8;
//   - numbers must be integers; they are written in decimal (1.0 -> 1, -0 -> 0).
// Where Notary is lax Signet refuses: a fraction is an error in both, and an
// integer beyond 2^53 (which Go silently rounds or garbles) is an error here.
// The npm `canonicaljson` package escapes control characters and writes
// fractions, so it cannot be used (test/shared/json/canonical.test.ts shows it).

import { DeserializationError } from '../errors.js';
import type { JSONValue } from './types.js';

// Deeper nesting is refused. Notary's metadata is at most six levels deep outside custom data;
// the encoder recurses, and at ~10,000 levels (Go's own decoder limit) Node's default stack
// overflows with a RangeError that no caller could report as bad input.
export const MAX_JSON_DEPTH = 1000;

// Strings with none of these characters canonicalise exactly as JSON.stringify
// writes them; the rest (control characters, surrogates) take the slow path.
const NEEDS_SLOW_PATH = /[\u0000-\u001f\ud800-\udfff]/;
const NON_ASCII = /[^\u0000-\u007f]/;

function encodeString(s: string): string {
  if (!NEEDS_SLOW_PATH.test(s)) return JSON.stringify(s);
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\ufffd'; // lone high surrogate: Go writes U+FFFD
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd'; // lone surrogate
    else out += s[i]!;
  }
  return out + '"';
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sortKeys(keys: string[]): string[] {
  // UTF-16 order equals UTF-8 byte order for ASCII; otherwise compare bytes.
  for (let i = 0; i < keys.length; i++) if (NON_ASCII.test(keys[i]!)) return keys.sort(compareUtf8);
  return keys.sort();
}

// Thrown inside the encoder; the path is assembled only while unwinding, so the
// hot path builds no path strings (a 10,000-target file has ~70,000 values).
class BadValue {
  readonly segments: string[] = [];
  constructor(readonly message: string) {}
}

function encode(v: JSONValue, depth: number): string {
  switch (typeof v) {
    case 'string':
      return encodeString(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isInteger(v)) throw new BadValue(`canonical JSON allows integers only, found ${v}`);
      if (!Number.isSafeInteger(v)) throw new BadValue(`integer ${v} is beyond 2^53 and cannot be represented exactly`);
      return Object.is(v, -0) ? '0' : String(v);
    case 'object': {
      if (v === null) return 'null';
      if (depth >= MAX_JSON_DEPTH) throw new BadValue(`is nested deeper than ${MAX_JSON_DEPTH} levels`);
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          if (i > 0) out += ',';
          try {
            out += encode(v[i] as JSONValue, depth + 1);
          } catch (e) {
            if (e instanceof BadValue) e.segments.push(`[${i}]`);
            throw e;
          }
        }
        return out + ']';
      }
      const keys = sortKeys(Object.keys(v));
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (i > 0) out += ',';
        try {
          out += encodeString(k) + ':' + encode(v[k] as JSONValue, depth + 1);
        } catch (e) {
          if (e instanceof BadValue) e.segments.push(`.${k}`);
          throw e;
        }
      }
      return out + '}';
    }
    default:
      throw new BadValue(`value of type ${typeof v} has no JSON form`);
  }
}

// Files written by notary are already canonical apart from HTML escapes, so
// most trees need no reordering: when every object's keys are ASCII and in
// order, every number a safe integer and no string needs the slow path,
// JSON.stringify (native) writes exactly the canonical text. Checking is ~3x
// cheaper than encoding in JS; anything else takes the general encoder.
// With `plain` (the text had hasPlainStrings) the per-string tests are skipped.
// Too deep a tree is left to the general encoder, which refuses it with its path.
function stringifyIsCanonical(v: JSONValue, plain: boolean, depth: number): boolean {
  switch (typeof v) {
    case 'string':
      return plain || !NEEDS_SLOW_PATH.test(v);
    case 'number':
      return Number.isSafeInteger(v);
    case 'boolean':
      return true;
    case 'object': {
      if (v === null) return true;
      if (depth >= MAX_JSON_DEPTH) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!stringifyIsCanonical(v[i] as JSONValue, plain, depth + 1)) return false;
        return true;
      }
      let previous: string | undefined;
      // for-in walks keys in the order JSON.stringify writes them (integer-like keys first).
      for (const k in v) {
        if (previous !== undefined && !(previous < k)) return false;
        if (!plain && (NON_ASCII.test(k) || NEEDS_SLOW_PATH.test(k))) return false;
        if (!stringifyIsCanonical(v[k] as JSONValue, plain, depth + 1)) return false;
        previous = k;
      }
      return true;
    }
    default:
      return false;
  }
}

export interface CanonicalOptions {
  /**
   * Every string and member name in the tree is printable ASCII (the tree was parsed from text
   * for which hasPlainStrings holds). A wrong `true` gives wrong bytes, so pass only that.
   */
  readonly plainStrings?: boolean;
}

function encodeAt(v: JSONValue, path: string, plain: boolean): string {
  if (stringifyIsCanonical(v, plain, 0)) return JSON.stringify(v);
  return canonicalStringGeneric(v, path);
}

const MAX_FIELD_TEXT = 120;

/** The general encoder (no fast path); canonicalString gives the same text. Exported for tests. */
export function canonicalStringGeneric(v: JSONValue, path = ''): string {
  try {
    return encode(v, 0);
  } catch (e) {
    if (!(e instanceof BadValue)) throw e;
    let field = (path + e.segments.reverse().join('')).replace(/^\./, '');
    if (field.length > MAX_FIELD_TEXT) field = `${field.slice(0, MAX_FIELD_TEXT)}…`; // a deep path would fill the screen
    throw new DeserializationError(field, e.message, { code: 'CANONICAL_JSON' });
  }
}

/** Canonical JSON text of a value. @throws {DeserializationError} (code CANONICAL_JSON) for non-integers. */
export function canonicalString(v: JSONValue, path = '', options: CanonicalOptions = {}): string {
  return encodeAt(v, path, options.plainStrings === true);
}

/** Canonical JSON bytes of a value: the bytes Notary signs. */
export function canonicalize(v: JSONValue, path = '', options: CanonicalOptions = {}): Buffer {
  const plain = options.plainStrings === true;
  // Plain text is ASCII, where latin1 and UTF-8 agree and latin1 is the cheaper copy.
  return Buffer.from(encodeAt(v, path, plain), plain ? 'latin1' : 'utf8');
}

// SPDX-License-Identifier: Apache-2.0
// Byte-exact renderings of what notary-server's Go code writes: encoding/json
// (HTML-safe escaping, which differs from JSON.stringify), time.RFC1123 on a
// UTC time (ends in "UTC", not "GMT"), time.RFC3339Nano, strconv.Quote and
// fmt's %v of a []string. Go clients and byte-comparing tests depend on them.

/** A value as Go's encoding/json would marshal it; object keys keep insertion order (Go struct field order). */
export type GoJsonValue = string | number | boolean | null | readonly GoJsonValue[] | { readonly [key: string]: GoJsonValue };

const HEX = '0123456789abcdef';

function u4(code: number): string {
  return '\\u' + HEX[(code >> 12) & 15] + HEX[(code >> 8) & 15] + HEX[(code >> 4) & 15] + HEX[code & 15];
}

/** Go encoding/json string escaping with escapeHTML on (json.Marshal, json.Encoder defaults). */
export function goJsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | null = null;
    if (c < 0x80) {
      if (c === 0x22) rep = '\\"';
      else if (c === 0x5c) rep = '\\\\';
      else if (c === 0x0a) rep = '\\n';
      else if (c === 0x0d) rep = '\\r';
      else if (c === 0x09) rep = '\\t';
      else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) rep = u4(c);
    } else if (c === 0x2028 || c === 0x2029) {
      rep = u4(c);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else rep = '\\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      rep = '\\ufffd'; // a lone surrogate is invalid UTF-8 to Go
    }
    if (rep !== null) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

/** Go json.Marshal of a value (no trailing newline). Integers only: the server never emits fractions. */
export function goJson(value: GoJsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return goJsonString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return '[' + (value as readonly GoJsonValue[]).map(goJson).join(',') + ']';
  const obj = value as { readonly [key: string]: GoJsonValue };
  return '{' + Object.keys(obj).map((k) => goJsonString(k) + ':' + goJson(obj[k] as GoJsonValue)).join(',') + '}';
}

/** Go `t.UTC().Format(time.RFC1123)`: `Sun, 22 Nov 2026 18:59:49 UTC`. */
export function goRfc1123(date: Date): string {
  return date.toUTCString().replace(/GMT$/, 'UTC');
}

/** Go `time.RFC3339Nano` of a UTC time (trailing fractional zeros dropped), as encoding/json writes time.Time. */
export function goRfc3339Nano(date: Date): string {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return iso.slice(0, 19) + (frac === '' ? '' : '.' + frac) + 'Z';
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go strconv.Quote (used in strconv.NumError texts). Operates on code points; input is already decoded text. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (cp === 0x20 || (cp > 0x20 && cp < 0x7f)) out += ch;
    else if (cp === 7) out += '\\a';
    else if (cp === 8) out += '\\b';
    else if (cp === 12) out += '\\f';
    else if (cp === 10) out += '\\n';
    else if (cp === 13) out += '\\r';
    else if (cp === 9) out += '\\t';
    else if (cp === 11) out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + HEX[cp >> 4] + HEX[cp & 15];
    else if (PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x10000) out += u4(cp);
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** fmt's `%v` of a []string: `[a b c]`. */
export function goStringSlice(values: readonly string[]): string {
  return '[' + values.join(' ') + ']';
}

/** strconv.ParseInt(s, 10, 32) error text, or the value. */
export function goParseInt32(s: string): { ok: true; value: number } | { ok: false; error: string } {
  if (!/^[+-]?[0-9]+$/.test(s)) return { ok: false, error: `strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax` };
  const n = BigInt(s);
  if (n > 2147483647n || n < -2147483648n) return { ok: false, error: `strconv.ParseInt: parsing ${goQuote(s)}: value out of range` };
  return { ok: true, value: Number(n) };
}

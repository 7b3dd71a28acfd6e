// SPDX-License-Identifier: Apache-2.0
// Strict standard base64 (RFC 4648 §4, padded), decoded in JS: Node's decoder
// skips characters outside the alphabet and tolerates missing padding, and
// checking it by re-encoding cost twice the decode on metadata with thousands
// of hashes. Only the canonical text of some bytes is accepted, so one value
// has one spelling (a stricter rule than Go's StdEncoding, which ignores
// non-zero padding bits).

import { DeserializationError } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
// Indexed by UTF-16 code unit, so no input character can fall outside the table.
const VALUE = new Int8Array(0x10000).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
const PAD = 0x3d; // '='

/**
 * Decode padded standard base64, refusing anything that is not the canonical encoding of its bytes.
 * @throws {DeserializationError} at `field`.
 */
export function decodeBase64Strict(s: string, field: string): Buffer {
  const n = s.length;
  if (n % 4 !== 0) throw new DeserializationError(field, 'is not padded standard base64');
  const pad = n === 0 || s.charCodeAt(n - 1) !== PAD ? 0 : s.charCodeAt(n - 2) === PAD ? 2 : 1;
  const out = Buffer.allocUnsafe((n / 4) * 3 - pad);
  const whole = pad === 0 ? n : n - 4;
  let o = 0;
  for (let i = 0; i < whole; i += 4) {
    const a = VALUE[s.charCodeAt(i)]!;
    const b = VALUE[s.charCodeAt(i + 1)]!;
    const c = VALUE[s.charCodeAt(i + 2)]!;
    const d = VALUE[s.charCodeAt(i + 3)]!;
    if ((a | b | c | d) < 0) throw new DeserializationError(field, 'is not padded standard base64');
    const x = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = x >>> 16;
    out[o++] = (x >>> 8) & 0xff;
    out[o++] = x & 0xff;
  }
  if (pad > 0) {
    const a = VALUE[s.charCodeAt(whole)]!;
    const b = VALUE[s.charCodeAt(whole + 1)]!;
    const c = pad === 1 ? VALUE[s.charCodeAt(whole + 2)]! : 0;
    if ((a | b | c) < 0) throw new DeserializationError(field, 'is not padded standard base64');
    // The bits below the last whole byte must be zero, or two spellings would decode alike.
    if (pad === 2 ? (b & 0x0f) !== 0 : (c & 0x03) !== 0) throw new DeserializationError(field, 'is not canonical base64');
    out[o++] = (a << 2) | (b >>> 4);
    if (pad === 1) out[o++] = ((b & 0x0f) << 4) | (c >>> 2);
  }
  return out;
}

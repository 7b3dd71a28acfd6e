// SPDX-License-Identifier: Apache-2.0
// Strict standard base64 (RFC 4648 §4, padded). Node's decoder skips
// characters outside the alphabet, reads '-' and '_' as URL-safe digits and
// tolerates missing padding, so text is checked first (one regular expression,
// the length and the padding bits) and only then decoded by Node: a decoder in
// JS ran ~3x slower in a short-lived CLI process, and re-encoding to compare
// cost as much as the decode. Only the canonical text of some bytes is
// accepted, so one value has one spelling (stricter than Go's StdEncoding,
// which ignores non-zero padding bits).

import { DeserializationError } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
const PAD = 0x3d; // '='
// The alphabet with at most two '=' at the end; length and padding bits are checked apart.
const PADDED_STD = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decode padded standard base64, refusing anything that is not the canonical encoding of its bytes.
 * @throws {DeserializationError} at `field`.
 */
export function decodeBase64Strict(s: string, field: string): Buffer {
  base64DecodedLength(s, field);
  return Buffer.from(s, 'base64');
}

/**
 * Check that `s` is the canonical padded standard base64 of some bytes, without decoding it;
 * returns how many bytes it decodes to.
 * @throws {DeserializationError} at `field`.
 */
export function base64DecodedLength(s: string, field: string): number {
  const n = s.length;
  if (n % 4 !== 0 || !PADDED_STD.test(s)) throw new DeserializationError(field, 'is not padded standard base64');
  const pad = n === 0 || s.charCodeAt(n - 1) !== PAD ? 0 : s.charCodeAt(n - 2) === PAD ? 2 : 1;
  // The bits below the last whole byte must be zero, or two spellings would decode alike.
  if (pad > 0 && ((VALUE[s.charCodeAt(n - pad - 1)] ?? -1) & (pad === 2 ? 0x0f : 0x03)) !== 0) throw new DeserializationError(field, 'is not canonical base64');
  return (n / 4) * 3 - pad;
}

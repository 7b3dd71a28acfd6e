// SPDX-License-Identifier: Apache-2.0
// Bytes -> JSON value, for untrusted input. The caller bounds the size.
// Numbers decode to float64 exactly as Go's generic decoder does, so the tree
// we verify is the tree Notary verifies.

import { isAscii } from 'node:buffer';
import { DeserializationError } from '../errors.js';
import type { JSONValue } from './types.js';

// ignoreBOM: a byte-order mark stays in the text, so JSON.parse refuses it as Go does.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parse UTF-8 JSON bytes.
 * @throws {DeserializationError} (code MALFORMED_JSON) when the bytes are not UTF-8 or not JSON.
 */
export function parseJson(bytes: Uint8Array | string, what = 'document'): JSONValue {
  let text: string;
  if (typeof bytes === 'string') {
    text = bytes;
  } else {
    try {
      text = decoder.decode(bytes);
    } catch (cause) {
      throw new DeserializationError('', `${what} is not valid UTF-8`, { code: 'MALFORMED_JSON', cause });
    }
  }
  try {
    return JSON.parse(text) as JSONValue;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new DeserializationError('', `${what} is not valid JSON (${detail})`, { code: 'MALFORMED_JSON', cause });
  }
}

/**
 * True when every string (and member name) of the JSON text `bytes` is printable ASCII written
 * without escapes: the bytes are ASCII and hold no backslash (a raw control character cannot
 * appear inside a JSON string). Canonicalisation then needs no per-string check.
 */
export function hasPlainStrings(bytes: Uint8Array): boolean {
  return isAscii(bytes) && bytes.indexOf(0x5c) === -1;
}

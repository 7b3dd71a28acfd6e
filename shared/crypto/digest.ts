// SPDX-License-Identifier: Apache-2.0
// Digests used by metadata (FileMeta hashes, consistent-snapshot names) and by
// the server's checksum lookups. Thin wrappers over node:crypto so callers do
// not repeat algorithm names as strings.

import { createHash } from 'node:crypto';

/** Raw SHA-256 digest of `data`. */
export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Raw SHA-512 digest of `data`. */
export function sha512(data: Uint8Array | string): Buffer {
  return createHash('sha512').update(data).digest();
}

/** Lower-case hex SHA-256, the form Notary puts in `<role>.<sha256>.json` URLs. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

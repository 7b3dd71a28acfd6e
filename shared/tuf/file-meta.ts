// SPDX-License-Identifier: Apache-2.0
// Length and hashes of exact file bytes: building snapshot/timestamp meta
// (server and client) and checking downloaded or uploaded bytes against it.
// Notary rules (tuf/data/types.go CheckHashes, client download caps):
//   - `length` is a maximum, not an equality: longer bytes fail, shorter ones
//     are left to the hash check;
//   - recognised hashes are sha256 and sha512; at least one must be present,
//     and every recognised one present must match; other names are ignored.

import { createHash, timingSafeEqual } from 'node:crypto';
import { LengthOrHashMismatchError } from '../errors.js';
import type { FileMeta, RoleName } from './model.js';

/** Digest sizes of the hash algorithms Notary checks. */
export const RECOGNISED_HASHES: Readonly<Record<string, number>> = Object.freeze({ sha256: 32, sha512: 64 });

/** Meta of exact bytes as notary writes it: length, sha256 and sha512. */
export function roleMetaFromBytes(bytes: Uint8Array): FileMeta {
  return {
    length: bytes.length,
    hashes: new Map([
      ['sha256', createHash('sha256').update(bytes).digest()],
      ['sha512', createHash('sha512').update(bytes).digest()],
    ]),
  };
}

/**
 * Check bytes against the meta a trusted role recorded for them.
 * @throws {LengthOrHashMismatchError} code LENGTH_MISMATCH when the bytes are longer than `meta.length`;
 *   code HASH_MISMATCH when no sha256/sha512 is recorded or a recorded one differs.
 */
export function verifyLengthAndHashes(bytes: Uint8Array, meta: FileMeta, roleName: RoleName): void {
  if (meta.length !== undefined && bytes.length > meta.length) {
    throw new LengthOrHashMismatchError(
      'LENGTH_MISMATCH',
      `${roleName} is ${bytes.length} bytes, more than the ${meta.length} bytes recorded for it; the file was altered or the repository is inconsistent`,
    );
  }
  const mismatch = firstHashMismatch(bytes, meta.hashes);
  if (mismatch === 'unverifiable') {
    throw new LengthOrHashMismatchError('HASH_MISMATCH', `no sha256 or sha512 hash is recorded for ${roleName}, so its bytes cannot be checked`);
  }
  if (mismatch !== null) {
    const { alg, expected, actual } = mismatch;
    throw new LengthOrHashMismatchError(
      'HASH_MISMATCH',
      `${roleName} does not match its recorded ${alg} hash (expected ${expected.toString('hex').slice(0, 16)}…, got ${actual.toString('hex').slice(0, 16)}…); the file was altered or the repository is inconsistent`,
    );
  }
}

/**
 * The first recognised hash in `hashes` that `bytes` do not match; `unverifiable` when none is
 * recognised (nothing can be checked); null when every recognised one matches.
 */
export function firstHashMismatch(bytes: Uint8Array, hashes: ReadonlyMap<string, Buffer>): { alg: string; expected: Buffer; actual: Buffer } | 'unverifiable' | null {
  let checked = 0;
  for (const [alg, expected] of hashes) {
    if (!Object.hasOwn(RECOGNISED_HASHES, alg)) continue;
    const actual = createHash(alg).update(bytes).digest();
    // SECURITY: constant-time comparison; a wrong-sized recorded digest can never match.
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return { alg, expected, actual };
    checked++;
  }
  return checked === 0 ? 'unverifiable' : null;
}

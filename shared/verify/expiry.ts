// SPDX-License-Identifier: Apache-2.0
// Expiry at a fixed reference time. Notary treats metadata as expired when
// `expires` is strictly before now (Go `t.Before(time.Now())`); the same
// instant is still valid. The reference time is fixed by the caller once per
// update so every role is judged against the same clock.

import { ExpiredMetadataError } from '../errors.js';
import type { RoleName, Signed } from '../tuf/model.js';

export function isExpired(signed: Signed, now: Date): boolean {
  return signed.expires.ms < now.getTime();
}

/** @throws {ExpiredMetadataError} code EXPIRED when `signed` has expired at `now`. */
export function verifyNotExpired(role: RoleName, signed: Signed, now: Date): void {
  if (isExpired(signed, now)) {
    throw new ExpiredMetadataError(
      'EXPIRED',
      `${role} metadata version ${signed.version} expired at ${signed.expires.text} (reference time ${now.toISOString()}); the repository must re-sign it`,
    );
  }
}

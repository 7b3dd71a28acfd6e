// SPDX-License-Identifier: Apache-2.0
// The one table of `signet` exit codes. Scripts branch on these; notary
// exits 1 for every failure.
//
//   code  meaning
//   0     success
//   1     any other failure (key store I/O, wrong passphrase, a bug)
//   2     usage: bad arguments or flags, unusable config file or GUN
//   3     credentials needed but not available without a prompt: a missing
//         key passphrase or server login while CI=true or without a TTY
//   4     verification failed: signatures, expiry, rollback, hashes, trust pinning,
//         malformed metadata
//   5     network: server unreachable, timed out, oversized or unexpected answer
//   6     the server refused the update (someone else published, invalid update)
//   7     not found: the repository or target does not exist

import { KeyStoreError, RemoteError, RepositoryError, TrustError, ConfigError, UsageError } from '../shared/errors.js';

export const EXIT = Object.freeze({
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  CREDENTIALS: 3,
  VERIFICATION: 4,
  NETWORK: 5,
  REJECTED: 6,
  NOT_FOUND: 7,
} as const);

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return EXIT.USAGE;
  if (error instanceof KeyStoreError && error.code === 'PASSPHRASE_REQUIRED') return EXIT.CREDENTIALS;
  if (error instanceof RemoteError) {
    switch (error.code) {
      case 'AUTH_REQUIRED':
        return EXIT.CREDENTIALS;
      case 'SERVER_REJECTED':
        return EXIT.REJECTED;
      case 'METADATA_NOT_FOUND':
        return EXIT.NOT_FOUND;
      default:
        return EXIT.NETWORK;
    }
  }
  if (error instanceof TrustError && error.code === 'METADATA_NOT_FOUND') return EXIT.NOT_FOUND;
  if (error instanceof RepositoryError) return EXIT.VERIFICATION;
  return EXIT.FAILURE;
}

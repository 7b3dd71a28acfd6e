// SPDX-License-Identifier: Apache-2.0
// Root validation and rotation, shared by the client's root walk and the
// server's upload check (notary-wire.md §4.2, python-tuf update_root).
//
// A new root is accepted when:
//   - its version follows the trusted one by an allowed step (client walk: +1;
//     the server accepts +0/+1, notary-wire.md §7 step 2);
//   - every key of its root role is usable as a root key for the GUN (the rule
//     set comes from the dialect: Notary wants X.509 certificates with CN = GUN,
//     a TUF 1.0 dialect accepts plain keys);
//   - it is signed by the trusted root's threshold of the trusted root keys
//     (Notary quirk kept: those old certificates may have expired) AND by its
//     own threshold of its own root keys;
//   - when it is the final root, it has not expired and its keys' validity
//     periods cover the reference time. Intermediate roots of a walk may be
//     expired (python-tuf), their certificates too.
// With no trusted root (first use / first upload) only the self-checks apply.

import { BadVersionError, RepositoryError, UnsignedMetadataError } from '../errors.js';
import type { Envelope, PublicKey, Root } from '../tuf/model.js';
import { TOP_LEVEL_ROLES } from '../tuf/model.js';
import { verifyNotExpired } from './expiry.js';
import type { RootKeyRules } from './root-key-rules.js';
import { getVerificationResult, verifyDelegate, type ThresholdOptions } from './threshold.js';

/**
 * Most root versions one update walks (each fetched and checked in turn). Only holders of the root
 * keys can make the chain longer, but a bound keeps a runaway chain from tying up a client or the
 * policy checker. python-tuf stops at 32; notary has no bound.
 */
export const MAX_ROOT_VERSIONS_WALKED = 1000;

export interface RootUpdateOptions extends ThresholdOptions {
  readonly gun: string;
  readonly now: Date;
  readonly rules: RootKeyRules;
  /** Allowed `next.version - trusted.version`; [1] for a client walk (default), [0, 1] for the server. */
  readonly versionSteps?: readonly number[];
  /** The root will be used as the final root: check its expiry and its keys' validity periods. Default true. */
  readonly final?: boolean;
}

/** Structure every root needs before any key can be looked at (codecs check most of it already). */
function checkStructure(root: Root): void {
  for (const role of TOP_LEVEL_ROLES) {
    const entry = root.roles.get(role);
    if (entry === undefined) throw new RepositoryError('BAD_ROOT', `root version ${root.version} has no ${role} role; a root must define root, targets, snapshot and timestamp`);
    for (const keyId of entry.keyIds) {
      if (!root.keys.has(keyId)) throw new RepositoryError('BAD_ROOT', `root version ${root.version} lists key ${keyId} for ${role} without a corresponding entry in keys`);
    }
  }
}

function checkVersionStep(trusted: Root, next: Root, steps: readonly number[]): void {
  const step = next.version - trusted.version;
  if (steps.includes(step)) return;
  const expected = steps.map((s) => trusted.version + s).join(' or ');
  const code = step < 0 ? 'VERSION_ROLLBACK' : step === 0 ? 'VERSION_EQUAL' : 'VERSION_JUMP';
  throw new BadVersionError(code, `root version ${next.version} cannot follow trusted root version ${trusted.version}: expected version ${expected}`);
}

/** The usable root keys of `root`, by the key ID the root lists them under. */
function usableRootKeys(root: Root, options: Pick<RootUpdateOptions, 'gun' | 'rules'>, now: Date | undefined, strict: boolean): Map<string, PublicKey> {
  const usable = new Map<string, PublicKey>();
  for (const keyId of root.roles.get('root')?.keyIds ?? []) {
    const key = root.keys.get(keyId);
    if (key === undefined) continue;
    const problem = options.rules.rootKeyProblem(key, options.gun, now);
    if (problem === null) usable.set(keyId, key);
    // SECURITY: Signet refuses a root listing an unusable root key (notary skips it) so a bad key never sits in root unnoticed.
    else if (strict) throw new RepositoryError('BAD_ROOT', `root version ${root.version}: root key ${keyId} cannot be used for ${options.gun}: ${problem}`);
  }
  return usable;
}

/**
 * Validate `next` as the successor of `trusted` (or as a first root when `trusted` is null).
 * @throws {BadVersionError} VERSION_ROLLBACK / VERSION_EQUAL / VERSION_JUMP when the version step is not allowed.
 * @throws {RepositoryError} BAD_ROOT when the structure or a root key is unusable for the GUN.
 * @throws {UnsignedMetadataError} when the trusted root's threshold or the new root's own threshold is not met.
 * @throws {ExpiredMetadataError} when `final` and the root has expired.
 */
export function verifyRootUpdate(trusted: Envelope<Root> | null, next: Envelope<Root>, options: RootUpdateOptions): void {
  const final = options.final ?? true;
  checkStructure(next.signed);
  if (trusted !== null) checkVersionStep(trusted.signed, next.signed, options.versionSteps ?? [1]);
  const ownKeys = usableRootKeys(next.signed, options, final ? options.now : undefined, true);

  if (trusted !== null) {
    // Notary: the trusted root's certificates count even when expired (trustpinning.ValidateRoot, checkExpiry=false).
    const oldKeys = usableRootKeys(trusted.signed, options, undefined, false);
    const oldRole = trusted.signed.roles.get('root');
    const result = oldRole === undefined ? null : getVerificationResult(oldKeys, oldRole, next, { ...options, role: 'root' });
    if (result === null || !result.verified) {
      throw new UnsignedMetadataError(
        result?.failure?.code ?? 'THRESHOLD_NOT_MET',
        `could not rotate trust to root version ${next.signed.version}: it is not signed by the trusted root version ${trusted.signed.version}'s threshold of root keys` +
          (result === null ? '' : ` (${result.validKeyIds.length}/${result.threshold} signed)`) +
          '; sign it with the previous root keys as well as the new ones',
      );
    }
  }
  verifyDelegate('root', ownKeys, next.signed.roles.get('root')!, next, options);
  if (final) verifyNotExpired('root', next.signed, options.now);
}

/**
 * The checks a root needs when it becomes the final root of an update (python-tuf
 * 5.3.10): not expired, and every root key usable at `now` (certificate validity).
 * @throws {ExpiredMetadataError} when the root has expired.
 * @throws {RepositoryError} BAD_ROOT when a root key is not valid at `now`.
 */
export function verifyFinalRoot(root: Envelope<Root>, options: Pick<RootUpdateOptions, 'gun' | 'now' | 'rules'>): void {
  verifyNotExpired('root', root.signed, options.now);
  usableRootKeys(root.signed, options, options.now, true);
}

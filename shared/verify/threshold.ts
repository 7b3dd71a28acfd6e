// SPDX-License-Identifier: Apache-2.0
// Signature thresholds (notary-wire.md §4.1, go-tuf VerifyDelegate).
//
// A role is satisfied when at least `threshold` **distinct public keys** of the
// role produced a valid signature over the signed bytes. Distinct means distinct
// SubjectPublicKeyInfo: one key listed twice (say as a certificate and as a plain
// key, under two IDs) counts once, and so do repeated signatures by one key ID.
// A signature whose key ID maps to a key whose own computed ID differs fails the
// whole check (notary ErrInvalidKeyID). Signatures by keys outside the role are
// ignored. Nothing here throws except verifyDelegate.

import { createHash } from 'node:crypto';
import { TrustError, UnsignedMetadataError, type ErrorCode } from '../errors.js';
import { canonicalize } from '../json/canonical.js';
import type { JSONObject } from '../json/types.js';
import type { Envelope, PublicKey, RoleKeys, RoleName } from '../tuf/model.js';
import { verifySignature } from '../crypto/verify.js';

export interface VerificationFailure {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface VerificationResult {
  readonly role: RoleName;
  readonly threshold: number;
  /** Role key IDs whose signature verified, one per distinct public key, in role order. */
  readonly validKeyIds: readonly string[];
  /** Role key IDs that did not add a distinct valid signature (missing, bad, or a key already counted). */
  readonly unsignedKeyIds: readonly string[];
  readonly verified: boolean;
  /** Why `verified` is false: what verifyDelegate throws. Null when verified. */
  readonly failure: VerificationFailure | null;
}

export interface ThresholdOptions {
  /** Role name for messages; defaults to `roleKeys.name` when the role is a DelegatedRole. */
  readonly role?: RoleName;
  /** The dialect's signed-bytes function (codec.signedBytes); Notary canonical JSON when absent. */
  readonly signedBytes?: (signedTree: JSONObject) => Buffer;
}

/** Bytes the signatures cover: the codec's cached copy when the envelope carries one. */
function messageOf(envelope: Envelope, options: ThresholdOptions): Buffer {
  if (envelope.signedBytes !== undefined) return envelope.signedBytes;
  return options.signedBytes !== undefined ? options.signedBytes(envelope.signedTree) : canonicalize(envelope.signedTree);
}

/** Identity of the key material; keys without parsed material fall back to their ID (they verify nothing anyway). */
function fingerprintOf(key: PublicKey): string {
  return key.spki === null ? `id:${key.id}` : createHash('sha256').update(key.spki).digest('hex');
}

function failed(role: RoleName, threshold: number, code: ErrorCode, message: string, unsigned: readonly string[]): VerificationResult {
  return { role, threshold, validKeyIds: [], unsignedKeyIds: unsigned, verified: false, failure: { code, message } };
}

/**
 * Count the distinct keys of `roleKeys` that validly signed `envelope`. Never throws.
 * @param keys key ID -> key, as listed by the delegator (root `keys` or a parent's `delegations.keys`).
 */
export function getVerificationResult(
  keys: ReadonlyMap<string, PublicKey>,
  roleKeys: RoleKeys,
  envelope: Envelope,
  options: ThresholdOptions = {},
): VerificationResult {
  const role = options.role ?? (typeof Reflect.get(roleKeys, 'name') === 'string' ? String(Reflect.get(roleKeys, 'name')) : 'role');
  const { threshold } = roleKeys;
  const roleKeyIds = [...new Set(roleKeys.keyIds)];
  if (!Number.isSafeInteger(threshold) || threshold < 1) {
    return failed(role, threshold, 'THRESHOLD_NOT_MET', `role ${role} has threshold ${threshold}; a threshold must be an integer of at least 1, so the delegator's metadata must be fixed`, roleKeyIds);
  }
  if (envelope.signatures.length === 0) {
    return failed(role, threshold, 'NO_SIGNATURES', `${role} metadata has no signatures; it must be signed by ${threshold} of the role's keys`, roleKeyIds);
  }
  let message: Buffer;
  try {
    message = messageOf(envelope, options);
  } catch (cause) {
    // Notary fails the whole check when `signed` cannot be canonicalised (e.g. a fractional number).
    const code = cause instanceof TrustError ? cause.code : 'CANONICAL_JSON';
    return failed(role, threshold, code, `${role} metadata cannot be canonicalised for signature checking: ${cause instanceof Error ? cause.message : 'unknown error'}`, roleKeyIds);
  }

  const counted = new Set<string>();
  const valid: string[] = [];
  const unsigned: string[] = [];
  for (const keyId of roleKeyIds) {
    const key = keys.get(keyId);
    const signatures = envelope.signatures.filter((s) => s.keyId === keyId);
    if (key === undefined || signatures.length === 0) {
      unsigned.push(keyId);
      continue;
    }
    // SECURITY: a key listed under an ID that is not its own could let one key pose as several.
    if (key.id !== keyId) {
      return failed(role, threshold, 'INVALID_KEY_ID', `${role} lists key ${keyId}, but that key's content hashes to ${key.id}; the delegator's key list is corrupt`, roleKeyIds);
    }
    const fingerprint = fingerprintOf(key);
    if (!counted.has(fingerprint) && signatures.some((s) => verifySignature(key, s, message))) {
      counted.add(fingerprint);
      valid.push(keyId);
    } else unsigned.push(keyId);
  }
  if (valid.length < threshold) {
    return {
      role,
      threshold,
      validKeyIds: valid,
      unsignedKeyIds: unsigned,
      verified: false,
      failure: {
        code: 'THRESHOLD_NOT_MET',
        message: `valid signatures for ${role} did not meet the threshold: ${valid.length}/${threshold} distinct keys signed; it must be signed by ${threshold} of the role's keys`,
      },
    };
  }
  return { role, threshold, validKeyIds: valid, unsignedKeyIds: unsigned, verified: true, failure: null };
}

/**
 * Like getVerificationResult, but throws when the threshold is not met.
 * @throws {UnsignedMetadataError} code THRESHOLD_NOT_MET, NO_SIGNATURES, INVALID_KEY_ID or CANONICAL_JSON.
 */
export function verifyDelegate(
  role: RoleName,
  keys: ReadonlyMap<string, PublicKey>,
  roleKeys: RoleKeys,
  envelope: Envelope,
  options: ThresholdOptions = {},
): VerificationResult {
  const result = getVerificationResult(keys, roleKeys, envelope, { ...options, role });
  if (result.failure !== null) throw new UnsignedMetadataError(result.failure.code, result.failure.message);
  return result;
}

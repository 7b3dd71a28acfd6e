// SPDX-License-Identifier: Apache-2.0
// Step 1 of a publish (notary-wire.md §7): read every part before looking at
// any of them, so a malformed part aborts the update before anything else is
// judged. Stricter than notary: invalid role names, a role sent twice,
// oversize parts and non-canonical number literals are refused here.

import { DeserializationError } from '../../shared/errors.js';
import type { NotaryCodec } from '../../shared/codec/notary.js';
import { isValidRoleName, isTargetsRoleName } from '../../shared/tuf/names.js';
import type { Envelope, Root, Snapshot, Targets, Timestamp } from '../../shared/tuf/model.js';
import { UpdateRefusalError } from './errors.js';
import { findNonCanonicalNumber } from './number-literals.js';
import type { UpdatePart } from './service.js';

/** One uploaded role: its exact bytes (what gets stored and hashed) and its parse. */
export interface Uploaded<T extends Root | Targets | Snapshot | Timestamp> {
  readonly role: string;
  readonly data: Buffer;
  readonly envelope: Envelope<T>;
}

export interface ParsedUpdate {
  readonly root: Uploaded<Root> | null;
  /** `targets` and delegations, shallowest first, then by name (notary's RoleList order). */
  readonly targets: readonly Uploaded<Targets>[];
  readonly snapshot: Uploaded<Snapshot> | null;
}

/** Largest metadata file accepted in a publish: a generous bound on real repositories, far below memory trouble. */
export const DEFAULT_MAX_METADATA_BYTES = 16 * 1024 * 1024;

function depth(role: string): number {
  return role.split('/').length;
}

/** Notary's RoleList order: fewer path segments first, then by name. */
export function shallowestFirst(a: string, b: string): number {
  return depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0);
}

function checkNameAndSize(part: UpdatePart, seen: Set<string>, maxBytes: number): void {
  if (!isValidRoleName(part.role)) {
    throw new UpdateRefusalError(
      'ErrValidation',
      'INVALID_ROLE',
      `${JSON.stringify(String(part.role).slice(0, 80))} is not a role name: use root, targets, snapshot, timestamp or a delegation such as targets/releases (lower-case letters, digits, "-", "_", "/")`,
      { role: part.role },
    );
  }
  if (seen.has(part.role)) {
    throw new UpdateRefusalError('ErrValidation', 'DUPLICATE_ROLE', `${part.role} was sent more than once in one update; send each role once`, { role: part.role });
  }
  seen.add(part.role);
  if (part.data.length > maxBytes) {
    throw new UpdateRefusalError('ErrValidation', 'METADATA_TOO_LARGE', `${part.role} is ${part.data.length} bytes; the server accepts metadata files of at most ${maxBytes} bytes`, {
      role: part.role,
    });
  }
}

function parsePart<T extends 'root' | 'targets' | 'snapshot' | 'timestamp'>(codec: NotaryCodec, part: UpdatePart, expected: T) {
  try {
    const envelope = codec.parse(part.data, expected, { roleName: part.role });
    // parse succeeded, so the bytes are valid UTF-8 JSON
    const bad = findNonCanonicalNumber(part.data.toString('utf8'));
    if (bad !== null) {
      throw new DeserializationError('', `number ${bad.slice(0, 40)} is not written as a plain integer; metadata numbers must be integers without fraction, exponent or leading zeros`, {
        code: 'CANONICAL_JSON',
      });
    }
    return envelope;
  } catch (cause) {
    if (!(cause instanceof DeserializationError)) throw cause;
    // Name the part so the publisher knows which file to fix; keep the code (MALFORMED_JSON, INVALID_FIELD, ...).
    throw new DeserializationError(`${part.role}.json`, cause.message, { code: cause.code, cause });
  }
}

/**
 * Check names and sizes of every part, then parse every part (a `timestamp` part is parsed and dropped:
 * the server always makes its own).
 * @throws {UpdateRefusalError} ErrValidation INVALID_ROLE / DUPLICATE_ROLE / METADATA_TOO_LARGE.
 * @throws {DeserializationError} when a part does not parse as metadata of its role's type.
 */
export function parseParts(codec: NotaryCodec, parts: readonly UpdatePart[], maxBytes = DEFAULT_MAX_METADATA_BYTES): ParsedUpdate {
  const seen = new Set<string>();
  for (const part of parts) checkNameAndSize(part, seen, maxBytes);

  let root: Uploaded<Root> | null = null;
  let snapshot: Uploaded<Snapshot> | null = null;
  const targets: Uploaded<Targets>[] = [];
  for (const part of parts) {
    const { role, data } = part;
    if (role === 'root') root = { role, data, envelope: parsePart(codec, part, 'root') };
    else if (role === 'snapshot') snapshot = { role, data, envelope: parsePart(codec, part, 'snapshot') };
    else if (role === 'timestamp') parsePart(codec, part, 'timestamp');
    else if (isTargetsRoleName(role)) targets.push({ role, data, envelope: parsePart(codec, part, 'targets') });
  }
  targets.sort((a, b) => shallowestFirst(a.role, b.role));
  return { root, targets, snapshot };
}

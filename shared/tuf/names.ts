// SPDX-License-Identifier: Apache-2.0
// Name rules for roles and GUNs, and the file names metadata is stored under.
// Delegation names follow notary `data.IsDelegation` exactly (notary-wire.md
// 4.4); the GUN rules are Signet's own (Notary accepts almost anything) and
// exist so a GUN can be used safely as a URL path and as a trust-dir path.

import { DeserializationError } from '../errors.js';
import { TOP_LEVEL_ROLES, type RoleName, type TopLevelRole } from './model.js';

const DELEGATION_CHARS = /^[-a-z0-9_/]+$/;
/** Notary stores role names in a 255-character database column. */
export const MAX_ROLE_NAME_BYTES = 255;
/** The GUN column of notary's SQL store is VARCHAR(255). */
export const MAX_GUN_BYTES = 255;

export function isTopLevelRole(name: unknown): name is TopLevelRole {
  return typeof name === 'string' && (TOP_LEVEL_ROLES as readonly string[]).includes(name);
}

/** Why `name` is not a valid delegation role name, or null when it is. */
/** Why `name` is not a delegation name notary accepts (the first rule it breaks), or null when it is one. */
export function delegationNameProblem(name: string): string | null {
  if (!name.startsWith('targets/')) return 'must start with "targets/"';
  if (!DELEGATION_CHARS.test(name)) return 'may contain only lower-case letters, digits, "-", "_" and "/"';
  if (name.length > MAX_ROLE_NAME_BYTES) return `must be shorter than ${MAX_ROLE_NAME_BYTES + 1} bytes`;
  // Go's path.Clean(name) == name. `.` is outside the character set, so only
  // empty segments (`//`, a trailing `/`) remain to refuse.
  if (name.split('/').includes('')) return 'must be a clean path (no "//", no trailing "/")';
  return null;
}

/** A delegation name as notary accepts it: `targets/releases`, `targets/a/b`. */
export function isDelegationRoleName(name: unknown): name is RoleName {
  return typeof name === 'string' && delegationNameProblem(name) === null;
}

/** @throws {DeserializationError} at `field` when `name` is not a valid delegation role name. */
export function assertDelegationRoleName(name: unknown, field: string): asserts name is RoleName {
  if (typeof name !== 'string') throw new DeserializationError(field, 'must be a delegation role name string such as "targets/releases"');
  const problem = delegationNameProblem(name);
  if (problem !== null) throw new DeserializationError(field, `delegation role name ${JSON.stringify(name.slice(0, 80))} ${problem}`);
}

/** A role whose metadata has `_type` Targets: `targets` or a delegation. */
export function isTargetsRoleName(name: unknown): name is RoleName {
  return name === 'targets' || isDelegationRoleName(name);
}

/** Any role name notary accepts for an upload: a top-level role or a delegation. */
export function isValidRoleName(name: unknown): name is RoleName {
  return isTopLevelRole(name) || isDelegationRoleName(name);
}

/**
 * The delegating role of a delegation (`path.Dir`): `targets/a/b` -> `targets/a`,
 * `targets/a` -> `targets`. Null for top-level roles and invalid names.
 */
export function parentRoleName(name: string): RoleName | null {
  if (!isDelegationRoleName(name)) return null;
  return name.slice(0, name.lastIndexOf('/'));
}

/**
 * Validate a GUN (globally unique name, e.g. `docker.io/library/alpine`).
 * Refused, and why:
 *   - empty, or longer than 255 bytes: notary's storage column limit;
 *   - `*`: notary's routes exclude it (`{gun:[^*]+}`) and trust pinning uses it as a wildcard;
 *   - whitespace and control characters: they break URLs, logs and file names;
 *   - empty, `.` and `..` segments: the GUN becomes `<trust_dir>/tuf/<gun>/`, where `..`
 *     would escape the trust directory and `a//b`, `a/./b`, `a/` would alias another GUN's cache.
 * @throws {DeserializationError} at `field` naming the rule broken.
 */
export function assertGun(gun: unknown, field = 'gun'): asserts gun is string {
  if (typeof gun !== 'string' || gun === '') throw new DeserializationError(field, 'must be a non-empty repository name such as "example.com/app"');
  const fail = (why: string): never => {
    throw new DeserializationError(field, `repository name ${JSON.stringify(gun.length > 80 ? gun.slice(0, 80) + '…' : gun)} ${why}`);
  };
  if (Buffer.byteLength(gun, 'utf8') > MAX_GUN_BYTES) fail(`is longer than ${MAX_GUN_BYTES} bytes`);
  if (gun.includes('*')) fail('must not contain "*"');
  if (/[\s\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(gun)) fail('must not contain whitespace or control characters');
  if (gun.split('/').some((s) => s === '' || s === '.' || s === '..')) fail('must not have empty, "." or ".." path segments');
}

export function isValidGun(gun: unknown): gun is string {
  try {
    assertGun(gun);
    return true;
  } catch {
    return false;
  }
}

/** File name of a role's current metadata: `targets/releases` -> `targets/releases.json`. */
export function roleFileName(role: RoleName): string {
  return `${role}.json`;
}

/** File name of one version: `2.root.json`, `1.targets/releases.json`. */
export function versionedFileName(role: RoleName, version: number): string {
  return `${version}.${role}.json`;
}

/** File name by content: `targets.<sha256 hex>.json`. */
export function checksumFileName(role: RoleName, sha256Hex: string): string {
  return `${role}.${sha256Hex}.json`;
}

/** The role a `<role>.json` file name holds (`targets/releases.json` -> `targets/releases`), or null. */
export function roleFromFileName(fileName: string): RoleName | null {
  if (!fileName.endsWith('.json')) return null;
  const role = fileName.slice(0, -'.json'.length);
  return isValidRoleName(role) ? role : null;
}

// SPDX-License-Identifier: Apache-2.0
// The `signed` body of Notary v1 metadata -> the semantic model. Checks what
// notary's *FromSigned/isValid*Structure check, plus the stricter rules marked
// "Strict:" below. Signatures and expiry are not checked here (the verifier
// does that over canonical(signedTree)); unknown members are ignored here and
// stay in the signedTree.

import { DeserializationError } from '../errors.js';
import type { JSONObject } from '../json/types.js';
import { parseExpires } from '../time.js';
import type { DelegatedRole, Delegations, FileMeta, Root, RoleKeys, Signed, SignedType, Snapshot, TargetFile, Targets, Timestamp } from '../tuf/model.js';
import { TOP_LEVEL_ROLES } from '../tuf/model.js';
import { assertDelegationRoleName, isTargetsRoleName, parentRoleName } from '../tuf/names.js';
import { at, describe, expectArray, expectInteger, expectObject, expectString, expectStringArray, own, parseFileMeta, parseKeyMap, parseRoleKeys, requireSha256 } from './notary-fields.js';

/** Wire `_type` of each model type (case-sensitive, `Targets` for delegations too). */
export const NOTARY_TYPE_NAMES: Readonly<Record<SignedType, string>> = Object.freeze({
  root: 'Root',
  targets: 'Targets',
  snapshot: 'Snapshot',
  timestamp: 'Timestamp',
});

const TYPE_OF_NAME = new Map<string, SignedType>(Object.entries(NOTARY_TYPE_NAMES).map(([k, v]) => [v, k as SignedType]));

/**
 * Read `_type`. With `expected`, any other value is WRONG_TYPE; without, it
 * must be one of the four exact names (Strict: Go compares it only later).
 */
export function readType(signed: JSONObject, expected: SignedType | undefined): SignedType {
  const field = 'signed._type';
  const value = own(signed, '_type');
  if (expected !== undefined) {
    const want = NOTARY_TYPE_NAMES[expected];
    if (value !== want) throw new DeserializationError(field, `expected ${want} metadata, got _type ${describe(value)}`, { code: 'WRONG_TYPE' });
    return expected;
  }
  const type = typeof value === 'string' ? TYPE_OF_NAME.get(value) : undefined;
  if (type === undefined) throw new DeserializationError(field, `must be one of Root, Targets, Snapshot, Timestamp, got ${describe(value)}`);
  return type;
}

function parseRoot(s: JSONObject): Omit<Root, 'version' | 'expires'> {
  const keys = parseKeyMap(own(s, 'keys'), 'signed.keys');
  const rolesObj = expectObject(own(s, 'roles'), 'signed.roles', 'an object mapping role names to {"keyids","threshold"}');
  const roles = new Map<string, RoleKeys>();
  // Extra role names are tolerated (notary ignores them) but must be well formed.
  for (const name of Object.keys(rolesObj)) {
    const f = at('signed.roles', name);
    roles.set(name, parseRoleKeys(expectObject(rolesObj[name], f, 'an object {"keyids","threshold"}'), f, keys, 'signed.keys'));
  }
  for (const name of TOP_LEVEL_ROLES) {
    if (!roles.has(name)) throw new DeserializationError(at('signed.roles', name), `is missing: root must define the ${name} role`);
  }
  const cs = own(s, 'consistent_snapshot');
  if (cs !== undefined && typeof cs !== 'boolean') throw new DeserializationError('signed.consistent_snapshot', `must be true or false, got ${describe(cs)}`);
  return { type: 'root', keys, roles, consistentSnapshot: cs === true };
}

function parseDelegations(v: unknown, roleName: string): Delegations {
  const field = 'signed.delegations';
  const obj = expectObject(v, field, 'an object {"keys","roles"}');
  const keys = parseKeyMap(own(obj, 'keys'), at(field, 'keys'));
  const names = new Set<string>();
  // Go writes a nil slice as null: `notary delegation remove` of the last delegation leaves `"roles":null`.
  const rawRoles = own(obj, 'roles');
  const roles = expectArray(rawRoles === null ? [] : rawRoles, at(field, 'roles'), 'an array of delegated roles').map((item, i): DelegatedRole => {
    const f = `${field}.roles[${i}]`;
    const r = expectObject(item, f, 'an object {"keyids","name","threshold","paths"}');
    const name = own(r, 'name');
    // Strict: Go checks name validity here but leaves the parent check to the client's walk.
    assertDelegationRoleName(name, at(f, 'name'));
    if (parentRoleName(name) !== roleName) {
      throw new DeserializationError(at(f, 'name'), `${name} is not a direct child of ${roleName}; ${roleName} may only delegate to ${roleName}/<name>`, { code: 'BAD_DELEGATION' });
    }
    // Strict: duplicate names are refused (notary would use the first one silently).
    if (names.has(name)) throw new DeserializationError(at(f, 'name'), `${name} is delegated twice; each role may appear once`, { code: 'BAD_DELEGATION' });
    names.add(name);
    const { keyIds, threshold } = parseRoleKeys(r, f, keys, at(field, 'keys'));
    const paths = own(r, 'paths');
    const hashPrefixes = own(r, 'path_hash_prefixes');
    return {
      name,
      keyIds,
      threshold,
      terminating: false,
      ...(paths === undefined ? {} : { paths: expectStringArray(paths, at(f, 'paths')) }),
      // Not a notary 0.7 field: parsed for information only, never written back.
      ...(hashPrefixes === undefined ? {} : { pathHashPrefixes: expectStringArray(hashPrefixes, at(f, 'path_hash_prefixes')) }),
    };
  });
  return { keys, roles };
}

function parseTargets(s: JSONObject, roleName: string): Omit<Targets, 'version' | 'expires'> {
  // Strict: `targets` must be an object (Go turns a missing one into null on re-serialisation).
  const obj = expectObject(own(s, 'targets'), 'signed.targets', 'an object mapping target names to file meta');
  const targets = new Map<string, TargetFile>();
  for (const name of Object.keys(obj)) targets.set(name, parseFileMeta(obj[name], at('signed.targets', name)));
  const d = own(s, 'delegations');
  return { type: 'targets', targets, delegations: d === undefined ? null : parseDelegations(d, roleName) };
}

function parseMeta(s: JSONObject): Map<string, FileMeta> {
  const obj = expectObject(own(s, 'meta'), 'signed.meta', 'an object mapping role names to file meta');
  const meta = new Map<string, FileMeta>();
  for (const role of Object.keys(obj)) meta.set(role, parseFileMeta(obj[role], at('signed.meta', role)));
  return meta;
}

/**
 * Parse a `signed` body of a known type. `roleName` is the role the file
 * belongs to (for targets: `targets` or the delegation's name).
 * @throws {DeserializationError} naming the offending field.
 */
export function parseSignedBody(s: JSONObject, type: SignedType, roleName: string): Signed {
  // Strict: Go accepts a missing/zero version until its structure check; here it must be a safe integer >= 1.
  const version = expectInteger(own(s, 'version'), 'signed.version', 1);
  const expires = parseExpires(expectString(own(s, 'expires'), 'signed.expires', 'an RFC 3339 date-time string'), 'signed.expires');
  switch (type) {
    case 'root':
      return { ...parseRoot(s), version, expires };
    case 'targets':
      if (!isTargetsRoleName(roleName)) {
        throw new DeserializationError('', `cannot parse targets metadata for role ${describe(roleName)}: it is neither "targets" nor a valid delegation name`);
      }
      return { ...parseTargets(s, roleName), version, expires };
    case 'snapshot': {
      const meta = parseMeta(s);
      requireSha256(meta, 'root', 'signed.meta');
      requireSha256(meta, 'targets', 'signed.meta');
      return { type: 'snapshot', meta, version, expires } satisfies Snapshot;
    }
    case 'timestamp': {
      const meta = parseMeta(s);
      requireSha256(meta, 'snapshot', 'signed.meta');
      return { type: 'timestamp', meta, version, expires } satisfies Timestamp;
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
// Field-level readers for Notary v1 metadata: each takes an untrusted JSON
// value and the JSON path it sits at, and either returns a typed value or
// throws a DeserializationError naming that path and what was expected.
// Only own properties are read, so names like `constructor` or `__proto__`
// in untrusted input never reach Object.prototype.

import { DeserializationError } from '../errors.js';
import type { JSONObject, JSONValue } from '../json/types.js';
import { isJSONObject } from '../json/types.js';
import type { FileMeta, PublicKey, RoleKeys, Signature, TargetFile } from '../tuf/model.js';
import { RECOGNISED_HASHES } from '../tuf/file-meta.js';
import { base64DecodedLength, decodeBase64Strict } from './base64.js';
import { Base64Digests } from './digests.js';
import { makeNotaryPublicKey } from './notary-keys.js';

/** A short, safe description of an untrusted value for error messages (never a whole body). */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  return String(v);
}

/** Path of a member: `a.b`, or `a` at the top. */
export function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** An own property of a parsed object (undefined when absent). */
export function own(obj: JSONObject, key: string): JSONValue | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function expectObject(v: unknown, field: string, what = 'an object'): JSONObject {
  if (!isJSONObject(v)) throw new DeserializationError(field, `must be ${what}, got ${describe(v)}`);
  return v;
}

export function expectArray(v: unknown, field: string, what = 'an array'): JSONValue[] {
  if (!Array.isArray(v)) throw new DeserializationError(field, `must be ${what}, got ${describe(v)}`);
  return v as JSONValue[];
}

export function expectString(v: unknown, field: string, what = 'a string'): string {
  if (typeof v !== 'string') throw new DeserializationError(field, `must be ${what}, got ${describe(v)}`);
  return v;
}

export function expectStringArray(v: unknown, field: string): string[] {
  return expectArray(v, field, 'an array of strings').map((s, i) => expectString(s, `${field}[${i}]`));
}

/**
 * A safe integer >= min. Strict where Go is lax: Go reads `1.0` as 1 and a
 * missing member as 0; here the JSON must hold an integer in range.
 */
export function expectInteger(v: unknown, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new DeserializationError(field, `must be an integer >= ${min}, got ${describe(v)}`);
  }
  return v;
}

const KEY_ID = /^[0-9a-f]{64}$/;

export function expectKeyId(v: unknown, field: string): string {
  if (typeof v !== 'string' || !KEY_ID.test(v)) {
    throw new DeserializationError(field, `must be a key ID (64 lower-case hex digits), got ${describe(v)}`);
  }
  return v;
}

/**
 * A wire key object `{"keytype","keyval":{"private":null,"public"}}`.
 * SECURITY: a non-null `keyval.private` is refused: public metadata must never
 * carry private key material (Go would accept and ignore it).
 */
export function parseNotaryKey(json: unknown, field: string): PublicKey {
  const obj = expectObject(json, field, 'a key object {"keytype","keyval"}');
  const keyType = expectString(own(obj, 'keytype'), at(field, 'keytype'));
  const keyval = expectObject(own(obj, 'keyval'), at(field, 'keyval'), 'an object {"private":null,"public":…}');
  const priv = own(keyval, 'private');
  if (priv !== undefined && priv !== null) {
    throw new DeserializationError(at(field, 'keyval.private'), 'must be null: public metadata must not contain private key material');
  }
  const publicValue = expectString(own(keyval, 'public'), at(field, 'keyval.public'));
  try {
    return makeNotaryPublicKey(keyType, publicValue, at(field, 'keyval.public'));
  } catch (cause) {
    if (cause instanceof DeserializationError) throw cause;
    // node:crypto throws plain Errors for some corrupt inputs (e.g. a certificate
    // whose SubjectPublicKeyInfo does not decode); untrusted input must not escape as those.
    throw new DeserializationError(at(field, 'keyval.public'), `holds a ${keyType} key that cannot be decoded`, { cause });
  }
}

/**
 * A `keys` map. Strict: every map key must equal the ID computed from the key
 * content (Go only notices a mismatch when a signature by that ID is checked).
 */
export function parseKeyMap(v: unknown, field: string): Map<string, PublicKey> {
  const obj = expectObject(v, field, 'an object mapping key IDs to keys');
  const keys = new Map<string, PublicKey>();
  for (const id of Object.keys(obj)) {
    const key = parseNotaryKey(obj[id], at(field, id));
    if (key.id !== id) {
      throw new DeserializationError(at(field, id), `is listed under key ID ${describe(id)} but its content has key ID ${key.id}`, { code: 'INVALID_KEY_ID' });
    }
    keys.set(id, key);
  }
  return keys;
}

/**
 * `{keyids, threshold}` of a root role or delegation. A key ID listed twice (notary 0.7's
 * `delegation add` given one certificate twice writes that) counts once: the model keeps it
 * once, and the threshold check counts each key once by ID and by public key anyway.
 */
export function parseRoleKeys(obj: JSONObject, field: string, keys: ReadonlyMap<string, PublicKey>, keysField: string): RoleKeys {
  // Go writes a nil slice as null: `notary delegation purge` of a role's last key leaves `"keyids":null`.
  const raw = own(obj, 'keyids');
  const keyIds = expectArray(raw === null ? [] : raw, at(field, 'keyids'), 'an array of key IDs').map((k, i) => expectKeyId(k, `${at(field, 'keyids')}[${i}]`));
  keyIds.forEach((id, i) => {
    if (!keys.has(id)) throw new DeserializationError(`${at(field, 'keyids')}[${i}]`, `key ID ${id} has no entry in ${keysField}; add the key or remove the ID`);
  });
  const threshold = expectInteger(own(obj, 'threshold'), at(field, 'threshold'), 1);
  return { keyIds: [...new Set(keyIds)], threshold };
}

/**
 * Hashes: algorithm -> padded base64 digest. Names other than sha256/sha512 are
 * kept (Go ignores them when checking); recognised ones must have their size.
 */
export function parseHashes(v: unknown, field: string): Base64Digests {
  const obj = expectObject(v, field, 'an object mapping hash names to base64 digests');
  const text = new Map<string, string>();
  for (const alg of Object.keys(obj)) {
    const f = at(field, alg);
    const digest = expectString(obj[alg], f, 'a base64 digest');
    const length = base64DecodedLength(digest, f);
    const size = Object.hasOwn(RECOGNISED_HASHES, alg) ? RECOGNISED_HASHES[alg] : undefined;
    if (size !== undefined && length !== size) {
      throw new DeserializationError(f, `${alg} digest must be ${size} bytes, got ${length}`);
    }
    text.set(alg, digest);
  }
  // Checked here, decoded where used.
  return new Base64Digests(text);
}

/**
 * FileMeta `{length, hashes, custom?}` (targets and snapshot/timestamp meta).
 * `length` is required (Go writes it always); `custom: null` means absent, as
 * Go's `*json.RawMessage` decodes it, so a re-serialisation drops it.
 */
export function parseFileMeta(v: unknown, field: string): TargetFile {
  const obj = expectObject(v, field, 'an object {"length","hashes"}');
  const length = expectInteger(own(obj, 'length'), at(field, 'length'), 0);
  const hashes = parseHashes(own(obj, 'hashes'), at(field, 'hashes'));
  const custom = own(obj, 'custom');
  return custom === undefined || custom === null ? { length, hashes } : { length, hashes, custom };
}

/** Meta entries of snapshot/timestamp: required roles must carry a sha256. */
export function requireSha256(meta: ReadonlyMap<string, FileMeta>, role: string, field: string): void {
  const entry = meta.get(role);
  if (entry === undefined) throw new DeserializationError(at(field, role), `is missing: ${role} must be listed with its sha256 hash`);
  if (!entry.hashes.has('sha256')) throw new DeserializationError(at(field, `${role}.hashes.sha256`), `is missing: ${role} must be listed with its sha256 hash`);
}

/**
 * The `signatures` array. Key IDs are lower-case hex, `method` is lower-cased
 * as Go does, `sig` is padded standard base64. Strict: the array must exist
 * and two signatures with one key ID are refused (they would count once anyway).
 */
export function parseSignatures(v: unknown, field: string): Signature[] {
  const list = expectArray(v, field, 'an array of signatures');
  const seen = new Set<string>();
  return list.map((item, i) => {
    const f = `${field}[${i}]`;
    const obj = expectObject(item, f, 'a signature object {"keyid","method","sig"}');
    const keyId = expectKeyId(own(obj, 'keyid'), at(f, 'keyid'));
    if (seen.has(keyId)) throw new DeserializationError(at(f, 'keyid'), `a second signature by key ${keyId}; each key may sign once`);
    seen.add(keyId);
    const method = expectString(own(obj, 'method'), at(f, 'method')).toLowerCase();
    const sig = decodeBase64Strict(expectString(own(obj, 'sig'), at(f, 'sig'), 'a base64 string'), at(f, 'sig'));
    return { keyId, method, sig };
  });
}

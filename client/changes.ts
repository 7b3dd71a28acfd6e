// SPDX-License-Identifier: Apache-2.0
// Payloads of notary's changelist entries other than targets (notary-wire.md
// 5.4), byte-compatible with the Go client so either tool publishes the
// other's staged changes:
//   delegation  TUFDelegation  {"new_name","threshold","add_keys","remove_keys",
//                               "add_paths","remove_paths","clear_paths"}, Go
//                               struct order, empty members omitted;
//   root role   TUFRootData    {"keys":[…],"role":"<role>"};
//   witness     no payload.
// Keys inside are Go-marshalled data.PublicKey: {"keytype","keyval":{"public","private":null}}.
// `targets/*` as the scope of a delegation update removes keys from every
// delegation below `targets` (`delegation purge`).

import { DeserializationError } from '../shared/errors.js';
import { notaryCodec } from '../shared/codec/notary.js';
import { goJsonString } from '../shared/codec/notary-write.js';
import { parseJson } from '../shared/json/parse.js';
import { isJSONObject, type JSONValue } from '../shared/json/types.js';
import { isDelegationRoleName, isTargetsRoleName } from '../shared/tuf/names.js';
import type { PublicKey, RoleName } from '../shared/tuf/model.js';
import type { Change } from './changelist.js';

export interface DelegationChange {
  readonly newName?: string;
  /** 0 = unchanged (Go omits it). */
  readonly threshold: number;
  readonly addKeys: readonly PublicKey[];
  /** Canonical key IDs (as `delegation list` prints them). */
  readonly removeKeys: readonly string[];
  readonly addPaths: readonly string[];
  readonly removePaths: readonly string[];
  readonly clearPaths: boolean;
}

export interface RootRoleChange {
  readonly role: string;
  readonly keys: readonly PublicKey[];
}

const EMPTY_DELEGATION: DelegationChange = { threshold: 0, addKeys: [], removeKeys: [], addPaths: [], removePaths: [], clearPaths: false };

/** Go's json.Marshal of a data.PublicKey: keytype, then keyval with public before private. */
export function goKeyJson(key: PublicKey): string {
  return `{"keytype":${goJsonString(key.keyType)},"keyval":{"public":${goJsonString(key.publicValue)},"private":null}}`;
}

const strings = (list: readonly string[]): string => `[${list.map(goJsonString).join(',')}]`;

export function encodeDelegationChange(d: Partial<DelegationChange>): Buffer {
  const parts: string[] = [];
  if (d.newName !== undefined && d.newName !== '') parts.push(`"new_name":${goJsonString(d.newName)}`);
  if (d.threshold !== undefined && d.threshold !== 0) parts.push(`"threshold":${d.threshold}`);
  if (d.addKeys !== undefined && d.addKeys.length > 0) parts.push(`"add_keys":[${d.addKeys.map(goKeyJson).join(',')}]`);
  if (d.removeKeys !== undefined && d.removeKeys.length > 0) parts.push(`"remove_keys":${strings(d.removeKeys)}`);
  if (d.addPaths !== undefined && d.addPaths.length > 0) parts.push(`"add_paths":${strings(d.addPaths)}`);
  if (d.removePaths !== undefined && d.removePaths.length > 0) parts.push(`"remove_paths":${strings(d.removePaths)}`);
  if (d.clearPaths === true) parts.push('"clear_paths":true');
  return Buffer.from(`{${parts.join(',')}}`, 'utf8');
}

export function encodeRootRoleChange(c: RootRoleChange): Buffer {
  return Buffer.from(`{"keys":[${c.keys.map(goKeyJson).join(',')}],"role":${goJsonString(c.role)}}`, 'utf8');
}

// Go's decoder matches member names case-insensitively.
function member(obj: Record<string, JSONValue>, name: string): JSONValue | undefined {
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === name) return v;
  return undefined;
}

function stringList(v: JSONValue | undefined, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s): s is string => typeof s === 'string')) throw new DeserializationError(field, 'must be a list of strings');
  return v;
}

function keyList(v: JSONValue | undefined, field: string): PublicKey[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DeserializationError(field, 'must be a list of keys');
  return v.map((k, i) => notaryCodec.parseKey(k, `${field}[${i}]`));
}

/** @throws {DeserializationError} naming `where` and the member. */
export function parseDelegationChange(data: Uint8Array | null, where: string): DelegationChange {
  if (data === null) return EMPTY_DELEGATION;
  const doc = parseJson(data, where);
  if (!isJSONObject(doc)) throw new DeserializationError(where, 'delegation change data must be a JSON object');
  const threshold = member(doc, 'threshold') ?? 0;
  if (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 0) throw new DeserializationError(`${where}: threshold`, 'must be a non-negative integer');
  const newName = member(doc, 'new_name');
  if (newName !== undefined && newName !== null && typeof newName !== 'string') throw new DeserializationError(`${where}: new_name`, 'must be a string');
  const clear = member(doc, 'clear_paths') ?? false;
  if (typeof clear !== 'boolean') throw new DeserializationError(`${where}: clear_paths`, 'must be true or false');
  return {
    ...(typeof newName === 'string' && newName !== '' ? { newName } : {}),
    threshold,
    addKeys: keyList(member(doc, 'add_keys'), `${where}: add_keys`),
    removeKeys: stringList(member(doc, 'remove_keys'), `${where}: remove_keys`),
    addPaths: stringList(member(doc, 'add_paths'), `${where}: add_paths`),
    removePaths: stringList(member(doc, 'remove_paths'), `${where}: remove_paths`),
    clearPaths: clear,
  };
}

/** @throws {DeserializationError} naming `where` and the member. */
export function parseRootRoleChange(data: Uint8Array | null, where: string): RootRoleChange {
  if (data === null) throw new DeserializationError(where, 'a root role change needs data {"keys":[…],"role":…}');
  const doc = parseJson(data, where);
  if (!isJSONObject(doc)) throw new DeserializationError(where, 'root role change data must be a JSON object');
  const role = member(doc, 'role');
  if (typeof role !== 'string') throw new DeserializationError(`${where}: role`, 'must be a role name');
  return { role, keys: keyList(member(doc, 'keys'), `${where}: keys`) };
}

/** `targets/*`, `targets/a/*`: a delegation update scope that means "every delegation below". */
export function isWildDelegation(role: string): boolean {
  if (!role.endsWith('/*')) return false;
  const base = role.slice(0, -2);
  return base === 'targets' || isDelegationRoleName(base);
}

// Staging helpers: the exact changes the notary CLI stages for each command.

export function targetChange(action: 'create' | 'delete', role: RoleName, name: string, data: Buffer | null): Change {
  return { action, role, type: 'target', path: name, data };
}

/** `delegation add`: one change with the keys (threshold 1), one with the paths, as notary. */
export function delegationAddChanges(role: RoleName, keys: readonly PublicKey[], paths: readonly string[] | undefined): Change[] {
  const out: Change[] = [];
  if (keys.length > 0) out.push({ action: 'create', role, type: 'delegation', path: '', data: encodeDelegationChange({ threshold: 1, addKeys: keys }) });
  if (paths !== undefined && paths.length > 0) out.push({ action: 'create', role, type: 'delegation', path: '', data: encodeDelegationChange({ addPaths: paths }) });
  return out;
}

/** `delegation remove` with keys and/or paths (clear first, as notary orders them). */
export function delegationRemoveChanges(role: RoleName, keyIds: readonly string[], paths: readonly string[], clearAll: boolean): Change[] {
  const out: Change[] = [];
  const update = (d: Partial<DelegationChange>): Change => ({ action: 'update', role, type: 'delegation', path: '', data: encodeDelegationChange(d) });
  if (clearAll) out.push(update({ clearPaths: true }));
  if (paths.length > 0) out.push(update({ removePaths: paths }));
  if (keyIds.length > 0) out.push(update({ removeKeys: keyIds }));
  return out;
}

export function delegationDeleteChange(role: RoleName): Change {
  return { action: 'delete', role, type: 'delegation', path: '', data: null };
}

export function purgeKeysChange(keyIds: readonly string[]): Change {
  return { action: 'update', role: 'targets/*', type: 'delegation', path: '', data: encodeDelegationChange({ removeKeys: keyIds }) };
}

export function witnessChange(role: RoleName): Change {
  return { action: 'update', role, type: 'witness', path: '', data: null };
}

export function rootRoleChange(role: string, keys: readonly PublicKey[]): Change {
  return { action: 'create', role: 'root', type: 'role', path: role, data: encodeRootRoleChange({ role, keys }) };
}

/** Roles `witness` can re-sign: notary applies witness changes to targets roles only. */
export function isWitnessable(role: string): boolean {
  return isTargetsRoleName(role);
}

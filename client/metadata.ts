// SPDX-License-Identifier: Apache-2.0
// Making and signing metadata on the client: fresh roles for `init`, the next
// version of a role for `publish`, and target FileMeta from files and change
// payloads. Bytes come from notaryCodec (Go's exact layout, notary-wire.md
// 1.8); signatures cover codec.signedBytes of the tree that is written.

import { notaryCodec } from '../shared/codec/notary.js';
import { decodeBase64Strict } from '../shared/codec/base64.js';
import { canonicalString } from '../shared/json/canonical.js';
import { parseJson } from '../shared/json/parse.js';
import { isJSONObject, type JSONValue } from '../shared/json/types.js';
import { DeserializationError, KeyStoreError, UsageError } from '../shared/errors.js';
import { DEFAULT_EXPIRY_SECONDS, expiresAfter } from '../shared/time.js';
import type { Envelope, FileMeta, PublicKey, Root, Signed, Signer, Snapshot, TargetFile, Targets } from '../shared/tuf/model.js';
import { roleMetaFromBytes } from '../shared/tuf/file-meta.js';
import { signEnvelope } from '../shared/codec/sign-envelope.js';

/** Sign a model object with every signer, in notary's format; the envelope holds the written bytes. */
export async function signMetadata<T extends Signed>(signed: T, signers: readonly Signer[], roleName?: string): Promise<Envelope<T>> {
  if (signers.length === 0) throw new KeyStoreError('KEY_NOT_FOUND', `no signing key for ${roleName ?? signed.type}`);
  return signEnvelope(notaryCodec, signed, signers);
}

export interface InitialKeys {
  readonly root: readonly PublicKey[];
  readonly targets: PublicKey;
  readonly snapshot: PublicKey;
  readonly timestamp: PublicKey;
}

/** Root version 1 as notary's `init` makes it: one key per role, threshold 1, 10-year expiry. */
export function newRoot(keys: InitialKeys, now: Date): Root {
  const all = new Map<string, PublicKey>();
  for (const k of [...keys.root, keys.targets, keys.snapshot, keys.timestamp]) all.set(k.id, k);
  const role = (ks: readonly PublicKey[]) => ({ keyIds: ks.map((k) => k.id), threshold: 1 });
  return {
    type: 'root',
    version: 1,
    expires: expiresAfter(now, DEFAULT_EXPIRY_SECONDS.root),
    keys: all,
    roles: new Map([
      ['root', role(keys.root)],
      ['targets', role([keys.targets])],
      ['snapshot', role([keys.snapshot])],
      ['timestamp', role([keys.timestamp])],
    ]),
    consistentSnapshot: false,
  };
}

export function newTargets(now: Date): Targets {
  return { type: 'targets', version: 1, expires: expiresAfter(now, DEFAULT_EXPIRY_SECONDS.targets), targets: new Map(), delegations: null };
}

/** The next version of a targets role with new target entries (notary re-signs with a fresh 3-year expiry). */
export function nextTargets(current: Targets, targets: ReadonlyMap<string, TargetFile>, now: Date): Targets {
  return { ...current, version: current.version + 1, expires: expiresAfter(now, DEFAULT_EXPIRY_SECONDS.targets), targets };
}

/** A snapshot recording `meta`, one version after `previous` (or version 1). */
export function nextSnapshot(previous: Snapshot | undefined, meta: ReadonlyMap<string, FileMeta>, now: Date): Snapshot {
  return { type: 'snapshot', version: (previous?.version ?? 0) + 1, expires: expiresAfter(now, DEFAULT_EXPIRY_SECONDS.snapshot), meta };
}

/** Target meta of file contents: length, sha256, sha512, optional custom data. */
export function targetFileFromBytes(bytes: Uint8Array, custom?: JSONValue): TargetFile {
  const m = roleMetaFromBytes(bytes);
  return { length: bytes.length, hashes: m.hashes, ...(custom === undefined ? {} : { custom }) };
}

// Go's json.Marshal of notary's data.FileMeta: length, hashes (sorted, base64), custom (raw).
export function encodeFileMeta(t: TargetFile): Buffer {
  const hashes = [...t.hashes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:"${v.toString('base64')}"`);
  const custom = t.custom === undefined ? '' : `,"custom":${canonicalString(t.custom)}`;
  return Buffer.from(`{"length":${t.length},"hashes":{${hashes.join(',')}}${custom}}`, 'utf8');
}

/**
 * Parse the FileMeta payload of a staged target change.
 * @throws {DeserializationError} naming the change file.
 */
export function parseFileMeta(bytes: Uint8Array, where: string): TargetFile {
  const doc = parseJson(bytes, where);
  if (!isJSONObject(doc)) throw new DeserializationError(where, 'target meta must be a JSON object');
  const { length, hashes, custom } = doc;
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) throw new DeserializationError(`${where}: length`, 'must be a non-negative integer');
  if (!isJSONObject(hashes) || Object.keys(hashes).length === 0) throw new DeserializationError(`${where}: hashes`, 'must hold at least one hash');
  const map = new Map<string, Buffer>();
  for (const [alg, v] of Object.entries(hashes)) {
    if (typeof v !== 'string') throw new DeserializationError(`${where}: hashes.${alg}`, 'must be base64 text');
    map.set(alg, decodeBase64Strict(v, `${where}: hashes.${alg}`));
  }
  return { length, hashes: map, ...(custom === undefined || custom === null ? {} : { custom }) };
}

const HTML_OR_SEPARATOR = /[<>&\u2028\u2029]/;
const CONTROL = /[\u0000-\u001f]/;

/**
 * Custom data for a target, in the only form every notary client can re-sign:
 * canonical (sorted keys, integers only) and free of `<`, `>`, `&`, U+2028/2029
 * and control characters (notary-wire.md 2.4).
 * @throws {UsageError} explaining what to change.
 */
export function checkCustomData(text: string, file: string): JSONValue {
  let value: JSONValue;
  try {
    value = parseJson(text, `custom data file ${file}`);
  } catch (cause) {
    throw new UsageError(`custom data file ${file} is not JSON: ${(cause as Error).message}`, { cause });
  }
  checkCustomValue(value, file);
  return value;
}

/** checkCustomData's rules for custom data already decoded (a change file another tool staged). */
export function checkCustomValue(value: JSONValue, where: string): void {
  let canonical: string;
  try {
    canonical = canonicalString(value);
  } catch (cause) {
    throw new UsageError(`custom data in ${where} cannot be signed: ${(cause as Error).message}; notary accepts integers only`, { cause });
  }
  if (HTML_OR_SEPARATOR.test(canonical) || CONTROL.test(canonical)) {
    throw new UsageError(`custom data in ${where} contains <, >, &, U+2028/U+2029 or a control character; notary clients could not re-sign such targets metadata, so remove them`);
  }
}

/**
 * A target name notary can publish.
 * @throws {UsageError} for empty names or names with control characters.
 */
export function checkTargetName(name: string): void {
  if (name === '') throw new UsageError('the target name must not be empty');
  if (CONTROL.test(name)) throw new UsageError(`target name ${JSON.stringify(name)} contains a control character (newline, tab, ...); notary cannot publish such names`);
}

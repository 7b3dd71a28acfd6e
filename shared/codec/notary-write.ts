// SPDX-License-Identifier: Apache-2.0
// Model -> Notary v1 wire: the `signed` tree Go would write for a model object,
// and the exact file bytes Go writes around a signed tree (notary-wire.md 1.8,
// 2.4). Byte identity with Go matters: the server hashes Go's re-serialisation
// of stored roles into the snapshot, so any other byte string becomes
// unreachable by hash.
//
// Go semantics reproduced: `"private":null` in every key; `paths` omitted when
// empty; `custom` omitted when absent; `delegations` always present;
// `targets`/`meta` `{}` when empty; hashes as base64; `expires` in the form Go
// writes after parsing it. Fields notary 0.7 does not know (TUF 1.0 `scheme`,
// `terminating`, `path_hash_prefixes`, meta `version`) are not written.

import { SerializationError } from '../errors.js';
import { canonicalString } from '../json/canonical.js';
import type { JSONObject, JSONValue } from '../json/types.js';
import { goExpiresText } from '../time.js';
import type { Delegations, FileMeta, PublicKey, RoleKeys, Signature, Signed, TargetFile } from '../tuf/model.js';
import type { SigningDraft } from './codec.js';
import { Base64Digests } from './digests.js';
import { NOTARY_TYPE_NAMES } from './notary-signed.js';

/** Set an own enumerable property even for `__proto__` (a plain assignment would change the prototype). */
function put(obj: JSONObject, key: string, value: JSONValue): void {
  // defineProperty costs ~4 µs a member on a large object; assignment is equivalent for every other name.
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

// Trees are built with members in canonical (sorted) order, so canonicalisation takes its
// JSON.stringify fast path instead of re-sorting every object of a large targets file.
function mapToObject<V>(map: ReadonlyMap<string, V>, f: (v: V, k: string) => JSONValue): JSONObject {
  const out: JSONObject = {};
  for (const k of [...map.keys()].sort()) put(out, k, f(map.get(k)!, k));
  return out;
}

/** Wire form of a key: `{"keytype","keyval":{"private":null,"public"}}`. */
export function notaryKeyToJson(key: PublicKey): JSONObject {
  return { keytype: key.keyType, keyval: { private: null, public: key.publicValue } };
}

function roleKeysToJson(r: RoleKeys): JSONObject {
  return { keyids: [...r.keyIds], threshold: r.threshold };
}

/** `where` names the entry only for the error (formatting it for every target cost ~5 µs each). */
function fileMetaToJson(m: FileMeta | TargetFile, where: () => string): JSONObject {
  if (m.length === undefined) throw new SerializationError(`${where()}: the Notary format requires a length`);
  // Parsed digests are written back as the text they came in (canonical base64, checked at parse).
  const hashes = m.hashes instanceof Base64Digests ? mapToObject(m.hashes.base64, (t) => t) : mapToObject(m.hashes, (d) => d.toString('base64'));
  // Go's *json.RawMessage drops a null custom, so it is omitted like an absent one.
  if ('custom' in m && m.custom !== undefined && m.custom !== null) return { custom: m.custom, hashes, length: m.length };
  return { hashes, length: m.length };
}

function delegationsToJson(d: Delegations | null): JSONObject {
  if (d === null) return { keys: {}, roles: [] };
  return {
    keys: mapToObject(d.keys, notaryKeyToJson),
    roles: d.roles.map((r): JSONObject => {
      if (r.paths !== undefined && r.paths.length > 0) return { keyids: [...r.keyIds], name: r.name, paths: [...r.paths], threshold: r.threshold };
      return { keyids: [...r.keyIds], name: r.name, threshold: r.threshold };
    }),
  };
}

/** The `signed` tree notary writes for a model object (notary fields only). */
export function notarySignedTree(s: Signed): JSONObject {
  const _type = NOTARY_TYPE_NAMES[s.type];
  const expires = goExpiresText(s.expires.text, 'expires');
  switch (s.type) {
    case 'root':
      return {
        _type,
        consistent_snapshot: s.consistentSnapshot,
        expires,
        keys: mapToObject(s.keys, notaryKeyToJson),
        roles: mapToObject(s.roles, roleKeysToJson),
        version: s.version,
      };
    case 'targets':
      return {
        _type,
        delegations: delegationsToJson(s.delegations),
        expires,
        targets: mapToObject(s.targets, (m, name) => fileMetaToJson(m, () => `target ${JSON.stringify(name)}`)),
        version: s.version,
      };
    case 'snapshot':
    case 'timestamp':
      return { _type, expires, meta: mapToObject(s.meta, (m, role) => fileMetaToJson(m, () => `meta of ${role}`)), version: s.version };
  }
}

// Go's encoding/json escapes these even inside a json.RawMessage (HTML safety).
const GO_HTML_ESCAPES: Readonly<Record<string, string>> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };
const GO_HTML_CHARS = /[<>&\u2028\u2029]/g;
const RAW_CONTROL = /[\u0000-\u001f]/;

/** Path of the first string (key or value) holding a raw control character, or null. */
function findControlCharacter(v: JSONValue, path: string): string | null {
  if (typeof v === 'string') return RAW_CONTROL.test(v) ? path : null;
  if (v === null || typeof v !== 'object') return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = findControlCharacter(v[i] as JSONValue, `${path}[${i}]`);
      if (p !== null) return p;
    }
    return null;
  }
  for (const k of Object.keys(v)) {
    const p = RAW_CONTROL.test(k) ? `${path}.${k}` : findControlCharacter(v[k] as JSONValue, `${path}.${k}`);
    if (p !== null) return p;
  }
  return null;
}

/**
 * A string as Go 1.19's json.Marshal writes it: `"` and `\` escaped, `\n` `\r`
 * `\t` short, other controls as `\u00xx`, HTML characters escaped, lone
 * surrogates (invalid UTF-8 in Go) as `\ufffd`.
 */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (c === 0x22 || c === 0x5c) out += '\\' + ch;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20) out += '\\u00' + c.toString(16).padStart(2, '0');
    else if (GO_HTML_ESCAPES[ch] !== undefined) out += GO_HTML_ESCAPES[ch];
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      out += ch + s[i + 1]!;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

/**
 * Canonicalise `signedTree` once for both the signature and the file: `{"signed":<canonical,
 * HTML-escaped>,"signatures":[…]}`, no whitespace, no trailing newline.
 * @throws {SerializationError} when a string in `signed` holds a raw control
 *   character: Go cannot write such a body (its compaction fails), so neither do we.
 * @throws {DeserializationError} (code CANONICAL_JSON) for a non-integer number.
 */
export function notaryDraft(signedTree: JSONObject): SigningDraft {
  const canonical = canonicalString(signedTree, 'signed');
  if (RAW_CONTROL.test(canonical)) {
    const where = findControlCharacter(signedTree, 'signed') ?? 'signed';
    throw new SerializationError(
      `${where}: holds a control character (newline, tab, ...); notary cannot write such metadata, so remove it from target names and custom data`,
    );
  }
  const body = canonical.replace(GO_HTML_CHARS, (c) => GO_HTML_ESCAPES[c] ?? c);
  return {
    signedTree,
    signedBytes: Buffer.from(canonical, 'utf8'),
    encode(signatures) {
      const sigs = signatures.map((s) => `{"keyid":${goJsonString(s.keyId)},"method":${goJsonString(s.method)},"sig":"${s.sig.toString('base64')}"}`);
      return Buffer.from(`{"signed":${body},"signatures":[${sigs.join(',')}]}`, 'utf8');
    },
  };
}

/** The file bytes notary writes for `signedTree` and `signatures` (see notaryDraft). */
export function encodeNotary(signedTree: JSONObject, signatures: readonly Signature[]): Buffer {
  return notaryDraft(signedTree).encode(signatures);
}

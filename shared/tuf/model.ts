// SPDX-License-Identifier: Apache-2.0
// The semantic TUF model, independent of any wire dialect. Codecs
// (shared/codec/notary.ts today, a TUF 1.0 codec later) turn bytes into these
// objects and back; the verifier and the state machine see only this model, so
// a new dialect needs no change to them.
//
// Invariants every codec guarantees on parse:
//   - `raw` is the exact byte string received; `signedTree` is the parsed
//     `signed` member exactly as decoded (unknown members included): signatures
//     are checked over canonical(signedTree), never over a re-serialised model;
//   - keys carry the ID the dialect computes from their wire content;
//   - snapshot/timestamp `meta` is keyed by role name (`root`, `targets`,
//     `targets/releases`), whatever the dialect's file naming;
//   - hashes are raw digest bytes; versions and lengths are safe integers.

import type { X509Certificate } from 'node:crypto';
import type { JSONObject, JSONValue } from '../json/types.js';

export type TopLevelRole = 'root' | 'targets' | 'snapshot' | 'timestamp';
export const TOP_LEVEL_ROLES: readonly TopLevelRole[] = ['root', 'targets', 'snapshot', 'timestamp'];

/** Role name: a top-level role or a delegation (`targets/releases` in the Notary dialect). */
export type RoleName = string;

/** Key algorithm family; `unknown` keys parse but can verify nothing. */
export type KeyAlgorithm = 'ed25519' | 'ecdsa' | 'rsa' | 'unknown';

export interface PublicKey {
  /** Key ID as the dialect computes it from the wire content (Notary: the "TUF ID"). */
  readonly id: string;
  readonly algorithm: KeyAlgorithm;
  /** Wire `keytype`, verbatim (`ecdsa-x509`, `ed25519`, ...). */
  readonly keyType: string;
  /** TUF 1.0 `scheme`; absent in the Notary dialect. */
  readonly scheme?: string;
  /** Wire public value, verbatim (base64 DER, certificate PEM text, hex). */
  readonly publicValue: string;
  /** DER SubjectPublicKeyInfo of the key (taken from the leaf certificate for x509 keys); null when unknown. */
  readonly spki: Buffer | null;
  /** For certificate keys: the parsed chain, leaf first. Empty otherwise. */
  readonly certificates: readonly X509Certificate[];
}

export interface Signature {
  readonly keyId: string;
  /** Notary `method` (ecdsa, eddsa, rsapss, ...) or a TUF 1.0 scheme. */
  readonly method: string;
  readonly sig: Buffer;
}

export interface RoleKeys {
  readonly keyIds: readonly string[];
  readonly threshold: number;
}

export interface DelegatedRole extends RoleKeys {
  readonly name: RoleName;
  /** Path prefixes (Notary) or patterns; undefined when the wire had none. */
  readonly paths?: readonly string[];
  readonly pathHashPrefixes?: readonly string[];
  /** TUF 1.0 `terminating`; false in the Notary dialect. */
  readonly terminating: boolean;
}

export interface Delegations {
  readonly keys: ReadonlyMap<string, PublicKey>;
  /** Ordered: the order is the search priority. Names are unique. */
  readonly roles: readonly DelegatedRole[];
}

/** `expires` keeps its source text so nothing re-serialised ever differs from what was signed. */
export interface Expiry {
  readonly text: string;
  /** Milliseconds since the epoch (sub-millisecond digits truncated). */
  readonly ms: number;
}

export interface FileMeta {
  readonly length?: number;
  /** Algorithm name (`sha256`, `sha512`, ...) -> raw digest bytes. */
  readonly hashes: ReadonlyMap<string, Buffer>;
  /** TUF 1.0 only; Notary meta carries no version. */
  readonly version?: number;
}

export interface TargetFile extends FileMeta {
  readonly length: number;
  /** Opaque custom data, kept as decoded. */
  readonly custom?: JSONValue;
}

interface SignedCommon {
  readonly version: number;
  readonly expires: Expiry;
}

export interface Root extends SignedCommon {
  readonly type: 'root';
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: ReadonlyMap<string, RoleKeys>;
  readonly consistentSnapshot: boolean;
}

export interface Targets extends SignedCommon {
  readonly type: 'targets';
  readonly targets: ReadonlyMap<string, TargetFile>;
  readonly delegations: Delegations | null;
}

export interface Snapshot extends SignedCommon {
  readonly type: 'snapshot';
  /** Keyed by role name. */
  readonly meta: ReadonlyMap<RoleName, FileMeta>;
}

export interface Timestamp extends SignedCommon {
  readonly type: 'timestamp';
  /** Always has `snapshot`. */
  readonly meta: ReadonlyMap<RoleName, FileMeta>;
}

export type Signed = Root | Targets | Snapshot | Timestamp;
export type SignedType = Signed['type'];

export interface Envelope<T extends Signed = Signed> {
  readonly signed: T;
  /** The `signed` member as decoded: what signatures cover. */
  readonly signedTree: JSONObject;
  readonly signatures: readonly Signature[];
  /** The exact bytes this envelope was parsed from (or serialised to). */
  readonly raw: Buffer;
  /**
   * canonical(signedTree), the bytes signatures cover, when the codec already
   * computed them (the Notary codec does at parse, which is also how it refuses
   * non-integer numbers). Absent: compute with `codec.signedBytes(signedTree)`.
   */
  readonly signedBytes?: Buffer;
}

/** Something that can sign: a file key, a token key, a server key. Private keys never leave it. */
export interface Signer {
  readonly publicKey: PublicKey;
  /** Signs `data` (canonical bytes) and returns the signature record for `publicKey.id`. */
  sign(data: Buffer): Promise<Signature>;
}

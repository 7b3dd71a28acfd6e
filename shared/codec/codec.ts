// SPDX-License-Identifier: Apache-2.0
// A wire dialect: bytes <-> the semantic model of shared/tuf/model.ts.
// The Notary v1 codec (notary.ts) is the only one today; a TUF 1.0 codec will
// implement the same interface, and the verifier needs no change for it.

import type { JSONObject } from '../json/types.js';
import type { Envelope, PublicKey, Signature, Signed, SignedType, Root, Targets, Snapshot, Timestamp } from '../tuf/model.js';

export type SignedOf<T extends SignedType> = T extends 'root'
  ? Root
  : T extends 'targets'
    ? Targets
    : T extends 'snapshot'
      ? Snapshot
      : Timestamp;

export interface ParseOptions {
  /**
   * The role a targets file belongs to: `targets` (default) or a delegation
   * such as `targets/releases`. Delegations listed in the file must be its
   * direct children. Ignored for root, snapshot and timestamp.
   */
  readonly roleName?: string;
}

/** A `signed` tree ready to sign: the bytes signatures cover, and the file for a set of signatures. */
export interface SigningDraft {
  readonly signedTree: JSONObject;
  /** canonical(signedTree). */
  readonly signedBytes: Buffer;
  /** The file bytes the dialect writes with these signatures. */
  encode(signatures: readonly Signature[]): Buffer;
}

export interface MetadataCodec {
  readonly dialect: 'notary' | 'tuf-1';
  /**
   * Parse a metadata file. With `expected`, a different `_type` is a
   * DeserializationError (code WRONG_TYPE).
   * @throws {DeserializationError} naming the offending field.
   */
  parse<T extends SignedType>(bytes: Uint8Array, expected: T, options?: ParseOptions): Envelope<SignedOf<T>>;
  parseAny(bytes: Uint8Array, options?: ParseOptions): Envelope;
  /** Wire form (`signed` tree) of a model object, with only the dialect's own fields. */
  toSignedTree(signed: Signed): JSONObject;
  /** Serialise an envelope exactly as the reference implementation writes it. */
  encode(signedTree: JSONObject, signatures: readonly Signature[]): Buffer;
  /** The bytes signatures cover. */
  signedBytes(signedTree: JSONObject): Buffer;
  /**
   * A model object ready to sign: its tree, the bytes signatures cover, and the file for the
   * signatures made over them (one canonicalisation for both, where signedBytes + encode take two).
   */
  draft(signed: Signed): SigningDraft;
  /** Parse a wire key object (`{"keytype":…,"keyval":{…}}`). */
  parseKey(json: unknown, field: string): PublicKey;
  /** Wire form of a key. */
  keyToJson(key: PublicKey): JSONObject;
}

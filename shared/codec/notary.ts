// SPDX-License-Identifier: Apache-2.0
// The Notary v1 (notary 0.7) codec: metadata file bytes <-> the semantic model.
//
// Parsing keeps three things side by side: `raw` (the exact input bytes),
// `signedTree` (the `signed` member exactly as decoded, unknown members
// included) with `signedBytes` = canonical(signedTree) computed once, and the
// typed model. Signatures are verified over `signedBytes`, never over a
// re-serialised model. Canonicalising at parse also refuses, anywhere in
// `signed`, numbers notary's verifier cannot canonicalise (fractions).
//
// Writing is Go's byte layout (notary-write.ts). This module does not verify
// signatures, expiry or versions; that is shared/verify's job.
// Every rejection is a DeserializationError whose `field` is a JSON path.

import { canonicalize } from '../json/canonical.js';
import { hasPlainStrings, parseJson } from '../json/parse.js';
import type { JSONObject } from '../json/types.js';
import type { Envelope, PublicKey, Signature, Signed, SignedType } from '../tuf/model.js';
import type { MetadataCodec, ParseOptions, SignedOf, SigningDraft } from './codec.js';
import { expectObject, own, parseNotaryKey, parseSignatures } from './notary-fields.js';
import { parseSignedBody, readType } from './notary-signed.js';
import { encodeNotary, notaryDraft, notaryKeyToJson, notarySignedTree } from './notary-write.js';

export type NotaryParseOptions = ParseOptions;

/** The Notary v1 dialect of MetadataCodec. */
export interface NotaryCodec extends MetadataCodec {
  readonly dialect: 'notary';
  /**
   * @throws {DeserializationError} naming the offending field; code WRONG_TYPE
   *   when `_type` is not the expected one, MALFORMED_JSON for non-JSON bytes,
   *   CANONICAL_JSON for a non-integer number in `signed`.
   */
  parse<T extends SignedType>(bytes: Uint8Array, expected: T, options?: NotaryParseOptions): Envelope<SignedOf<T>>;
  parseAny(bytes: Uint8Array, options?: NotaryParseOptions): Envelope;
}

function parseEnvelope(bytes: Uint8Array, expected: SignedType | undefined, options: NotaryParseOptions | undefined): Envelope {
  const raw = Buffer.from(bytes); // a copy: later changes to the caller's buffer cannot reach the envelope
  const doc = expectObject(parseJson(raw, 'metadata'), '', 'a JSON object {"signed","signatures"}');
  const signedTree = expectObject(own(doc, 'signed'), 'signed', 'an object');
  const type = readType(signedTree, expected);
  const signed = parseSignedBody(signedTree, type, options?.roleName ?? 'targets');
  // Strict: Go accepts a missing/null `signatures` and fails only at verification.
  const signatures = parseSignatures(own(doc, 'signatures'), 'signatures');
  // Strict: a fraction anywhere in `signed` (even in unknown members or custom
  // data) makes notary's verifier fail; refuse it here with its path.
  const signedBytes = canonicalize(signedTree, 'signed', { plainStrings: hasPlainStrings(raw) });
  return { signed, signedTree, signatures, raw, signedBytes };
}

export const notaryCodec: NotaryCodec = {
  dialect: 'notary',

  parse<T extends SignedType>(bytes: Uint8Array, expected: T, options?: NotaryParseOptions): Envelope<SignedOf<T>> {
    return parseEnvelope(bytes, expected, options) as Envelope<SignedOf<T>>;
  },

  parseAny(bytes: Uint8Array, options?: NotaryParseOptions): Envelope {
    return parseEnvelope(bytes, undefined, options);
  },

  /** Notary's own fields in Go's form; see notary-write.ts for the rules. */
  toSignedTree(signed: Signed): JSONObject {
    return notarySignedTree(signed);
  },

  encode(signedTree: JSONObject, signatures: readonly Signature[]): Buffer {
    return encodeNotary(signedTree, signatures);
  },

  signedBytes(signedTree: JSONObject): Buffer {
    return canonicalize(signedTree, 'signed');
  },

  draft(signed: Signed): SigningDraft {
    return notaryDraft(notarySignedTree(signed));
  },

  parseKey(json: unknown, field: string): PublicKey {
    return parseNotaryKey(json, field);
  },

  keyToJson(key: PublicKey): JSONObject {
    return notaryKeyToJson(key);
  },
};


// SPDX-License-Identifier: Apache-2.0
// The signature schemes Signet knows, as one frozen table keyed by the wire
// name (Notary `method`, or TUF 1.0 `scheme`). Each entry says which keys it
// verifies with and the exact node:crypto options; nothing can be added at
// run time (notary's `signed.Verifiers` is a mutable global; this is not).
//
// Notary 0.7 (tuf/signed/verifiers.go):
//   ecdsa        ECDSA over SHA-256, raw r‖s, exactly 2·⌈bits/8⌉ bytes (DER refused)
//   eddsa        Ed25519 over the message itself
//   rsapss       RSASSA-PSS, SHA-256, MGF1-SHA-256, salt exactly 32
//   rsapkcs1v15  RSASSA-PKCS1-v1_5, SHA-256
//   pycrypto-pkcs#1 pss   legacy PSS (salt 32), `rsa` keys holding PEM only; never signed with
// TUF 1.0 (for the TUF codec to come):
//   ed25519, ecdsa-sha2-nistp256 (DER signature, P-256 only), rsassa-pss-sha256
//   (salt length not fixed by the spec: any salt verifies, we sign with 32).

import { constants, type SignKeyObjectInput, type VerifyKeyObjectInput } from 'node:crypto';
import type { KeyAlgorithm, PublicKey } from '../tuf/model.js';
import type { PreparedKey } from './key-object.js';

export type SchemeDialect = 'notary' | 'tuf-1';

export interface Scheme {
  /** Wire name: Notary `method` or TUF 1.0 `scheme`. */
  readonly name: string;
  readonly dialect: SchemeDialect;
  readonly algorithm: Exclude<KeyAlgorithm, 'unknown'>;
  /** Wire keytypes this scheme verifies with. */
  readonly keyTypes: readonly string[];
  /** Digest given to crypto.verify/sign; null for Ed25519 (it hashes internally). */
  readonly hash: 'sha256' | null;
  /** ECDSA signature encoding. */
  readonly ecdsaEncoding?: 'ieee-p1363' | 'der';
  /** Required named curve, when the scheme fixes one. */
  readonly curve?: string;
  readonly rsaPadding?: 'pss' | 'pkcs1v15';
  /** PSS salt length required when verifying; `RSA_PSS_SALTLEN_AUTO` accepts any. */
  readonly pssVerifySaltLength?: number;
  /** Whether signatures must have the key's fixed length (raw ECDSA, Ed25519, RSA). */
  readonly fixedLength: boolean;
  /** Whether Signet produces this scheme (legacy ones verify only). */
  readonly signable: boolean;
  /** The key's wire value must be PEM text (notary's pycrypto verifier pem-decodes it). */
  readonly pemPublicValue?: boolean;
}

/** PSS salt length notary signs with and requires: the SHA-256 digest size. */
export const NOTARY_PSS_SALT_LENGTH = 32;

const TABLE: readonly Scheme[] = [
  { name: 'ecdsa', dialect: 'notary', algorithm: 'ecdsa', keyTypes: ['ecdsa', 'ecdsa-x509'], hash: 'sha256', ecdsaEncoding: 'ieee-p1363', fixedLength: true, signable: true },
  { name: 'eddsa', dialect: 'notary', algorithm: 'ed25519', keyTypes: ['ed25519'], hash: null, fixedLength: true, signable: true },
  { name: 'rsapss', dialect: 'notary', algorithm: 'rsa', keyTypes: ['rsa', 'rsa-x509'], hash: 'sha256', rsaPadding: 'pss', pssVerifySaltLength: NOTARY_PSS_SALT_LENGTH, fixedLength: true, signable: true },
  { name: 'rsapkcs1v15', dialect: 'notary', algorithm: 'rsa', keyTypes: ['rsa', 'rsa-x509'], hash: 'sha256', rsaPadding: 'pkcs1v15', fixedLength: true, signable: true },
  // Notary: the pycrypto verifier takes only keytype `rsa` whose `public` is PEM text
  // (an ordinary DER `rsa` key fails there), so we require the same.
  { name: 'pycrypto-pkcs#1 pss', dialect: 'notary', algorithm: 'rsa', keyTypes: ['rsa'], hash: 'sha256', rsaPadding: 'pss', pssVerifySaltLength: NOTARY_PSS_SALT_LENGTH, fixedLength: true, signable: false, pemPublicValue: true },
  { name: 'ed25519', dialect: 'tuf-1', algorithm: 'ed25519', keyTypes: ['ed25519'], hash: null, fixedLength: true, signable: true },
  { name: 'ecdsa-sha2-nistp256', dialect: 'tuf-1', algorithm: 'ecdsa', keyTypes: ['ecdsa', 'ecdsa-sha2-nistp256'], hash: 'sha256', ecdsaEncoding: 'der', curve: 'prime256v1', fixedLength: false, signable: true },
  { name: 'rsassa-pss-sha256', dialect: 'tuf-1', algorithm: 'rsa', keyTypes: ['rsa'], hash: 'sha256', rsaPadding: 'pss', pssVerifySaltLength: constants.RSA_PSS_SALTLEN_AUTO, fixedLength: true, signable: true },
];

// Null prototype: a method such as `constructor` or `__proto__` finds nothing.
const BY_NAME: Readonly<Record<string, Scheme | undefined>> = Object.freeze(
  Object.assign(
    Object.create(null) as Record<string, Scheme>,
    Object.fromEntries(TABLE.map((s) => [s.name, Object.freeze({ ...s, keyTypes: Object.freeze([...s.keyTypes]) })])),
  ),
);

/** Every scheme, frozen. */
export const SCHEMES: readonly Scheme[] = Object.freeze(Object.values(BY_NAME).filter((s): s is Scheme => s !== undefined));

/** The scheme called `name`, or undefined for names Signet does not know. */
export function getScheme(name: string): Scheme | undefined {
  return BY_NAME[name];
}

/**
 * Whether `scheme` may be used with `key` (already prepared): algorithm and
 * wire keytype listed, required curve matched, and for TUF 1.0 keys the key's
 * own `scheme` equal to this one (TUF binds a key to one scheme).
 */
export function schemeAcceptsKey(scheme: Scheme, key: PublicKey, prepared: PreparedKey): boolean {
  if (key.algorithm !== scheme.algorithm) return false;
  if (!scheme.keyTypes.includes(key.keyType)) return false;
  if (scheme.curve !== undefined && prepared.curve !== scheme.curve) return false;
  if (key.scheme !== undefined && key.scheme !== scheme.name) return false;
  if (scheme.pemPublicValue === true && !Buffer.from(key.publicValue, 'base64').toString('latin1').startsWith('-----BEGIN ')) return false;
  return true;
}

/** node:crypto verify options for `scheme` with `prepared`. */
export function verifyOptions(scheme: Scheme, prepared: PreparedKey): VerifyKeyObjectInput {
  if (scheme.ecdsaEncoding !== undefined) return { key: prepared.keyObject, dsaEncoding: scheme.ecdsaEncoding };
  if (scheme.rsaPadding === 'pss') {
    return { key: prepared.keyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.pssVerifySaltLength ?? NOTARY_PSS_SALT_LENGTH };
  }
  if (scheme.rsaPadding === 'pkcs1v15') return { key: prepared.keyObject, padding: constants.RSA_PKCS1_PADDING };
  return { key: prepared.keyObject };
}

/** node:crypto sign options for `scheme` with a private key. PSS always signs with salt 32. */
export function signOptions(scheme: Scheme, privateKey: SignKeyObjectInput['key']): SignKeyObjectInput {
  if (scheme.ecdsaEncoding !== undefined) return { key: privateKey, dsaEncoding: scheme.ecdsaEncoding };
  if (scheme.rsaPadding === 'pss') return { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: NOTARY_PSS_SALT_LENGTH };
  if (scheme.rsaPadding === 'pkcs1v15') return { key: privateKey, padding: constants.RSA_PKCS1_PADDING };
  return { key: privateKey };
}

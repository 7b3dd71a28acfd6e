// SPDX-License-Identifier: Apache-2.0
// ECDSA P-256 keys as PKCS#11 objects: the templates a token key is made
// with, and conversions between the token's CKA_EC_POINT and the SPKI /
// Notary key ID the rest of Signet uses. The only key type kept on tokens is
// P-256, as in notary (its YubiKey store holds ECDSA root keys only).
//
// SECURITY: private key objects are always CKA_TOKEN, CKA_PRIVATE,
// CKA_SENSITIVE and not CKA_EXTRACTABLE, so the module refuses to reveal or
// wrap the private value; imported keys get the same attributes.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { CryptoError } from '../../shared/errors.js';
import type { PublicKey } from '../../shared/tuf/model.js';
import { CK, type Attribute } from './binding.js';

/** DER OBJECT IDENTIFIER prime256v1 (1.2.840.10045.3.1.7): CKA_EC_PARAMS of P-256. */
export const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
// SubjectPublicKeyInfo header for a P-256 key; the 65-byte uncompressed point follows.
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const POINT_LENGTH = 65;

/** What a token key is stored under: its canonical key ID and a label with its role. */
export interface KeyLabels {
  readonly keyId: string;
  readonly label: string;
}

/** Attributes shared by both halves of a key pair. */
function common(labels: KeyLabels): Attribute[] {
  return [
    { type: CK.CKA_TOKEN, value: true },
    { type: CK.CKA_KEY_TYPE, value: CK.CKK_EC },
    { type: CK.CKA_ID, value: Buffer.from(labels.keyId, 'hex') },
    { type: CK.CKA_LABEL, value: labels.label },
  ];
}

export function publicTemplate(labels: KeyLabels, point?: Buffer): Attribute[] {
  return [
    { type: CK.CKA_CLASS, value: CK.CKO_PUBLIC_KEY },
    ...common(labels),
    { type: CK.CKA_PRIVATE, value: false },
    { type: CK.CKA_VERIFY, value: true },
    { type: CK.CKA_EC_PARAMS, value: P256_PARAMS },
    ...(point === undefined ? [] : [{ type: CK.CKA_EC_POINT, value: encodeEcPoint(point) }]),
  ];
}

export function privateTemplate(labels: KeyLabels, value?: Buffer): Attribute[] {
  return [
    { type: CK.CKA_CLASS, value: CK.CKO_PRIVATE_KEY },
    ...common(labels),
    { type: CK.CKA_PRIVATE, value: true },
    { type: CK.CKA_SENSITIVE, value: true },
    { type: CK.CKA_EXTRACTABLE, value: false },
    { type: CK.CKA_SIGN, value: true },
    ...(value === undefined ? [] : [{ type: CK.CKA_EC_PARAMS, value: P256_PARAMS }, { type: CK.CKA_VALUE, value }]),
  ];
}

/** CKA_EC_POINT value: DER OCTET STRING around the uncompressed point (PKCS#11 2.40 §2.3.3). */
export function encodeEcPoint(point: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x04, point.length]), point]);
}

/**
 * The uncompressed point in a CKA_EC_POINT value. Accepts the DER form and,
 * as some modules return it, the bare point.
 * @throws {CryptoError} INVALID_KEY for anything that is not a P-256 point.
 */
export function decodeEcPoint(value: Buffer): Buffer {
  if (value.length === POINT_LENGTH + 2 && value[0] === 0x04 && value[1] === POINT_LENGTH && value[2] === 0x04) return value.subarray(2);
  if (value.length === POINT_LENGTH && value[0] === 0x04) return value;
  throw new CryptoError('INVALID_KEY', `token key has a CKA_EC_POINT of ${value.length} bytes that is not an uncompressed P-256 point; only ECDSA P-256 keys are supported on tokens`);
}

/**
 * The Notary public key (plain `ecdsa`, base64 SPKI) of a P-256 point.
 * @throws {CryptoError} INVALID_KEY when the point is not on the curve.
 */
export function publicKeyFromPoint(point: Buffer): PublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, point]), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new CryptoError('INVALID_KEY', 'token key is not a valid P-256 public key', { cause });
  }
  return publicKeyFromKeyObject(key);
}

/**
 * The private scalar (32 bytes) and public point of an in-memory P-256 key,
 * for importing it onto a token. The caller zeroes `d` after use.
 * @throws {CryptoError} UNSUPPORTED_ALGORITHM for any other key.
 */
export function p256Parts(key: KeyObject): { d: Buffer; point: Buffer } {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const what = key.asymmetricKeyType === 'ec' ? `an EC key on ${key.asymmetricKeyDetails?.namedCurve ?? 'an unknown curve'}` : `a ${key.asymmetricKeyType ?? 'unknown'} key`;
    throw new CryptoError('UNSUPPORTED_ALGORITHM', `tokens hold ECDSA P-256 keys only, this is ${what}; keep it in the file store (unset SIGNET_PKCS11_MODULE or pick another role) or use a P-256 key`);
  }
  const jwk = key.export({ format: 'jwk' });
  const part = (v: string | undefined): Buffer => {
    const b = Buffer.from(v ?? '', 'base64url');
    if (b.length > 32) throw new CryptoError('INVALID_KEY', 'P-256 key component longer than 32 bytes');
    return Buffer.concat([Buffer.alloc(32 - b.length), b]);
  };
  return { d: part(jwk.d), point: Buffer.concat([Buffer.from([0x04]), part(jwk.x), part(jwk.y)]) };
}

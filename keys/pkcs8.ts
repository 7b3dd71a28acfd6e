// SPDX-License-Identifier: Apache-2.0
// Plaintext PKCS#8 in Notary's exact form, and reading of every PKCS#8 form
// Notary or a standard tool produces.
//
// Notary writes (tuf/utils/pkcs8.go):
//   ECDSA   version 1 (sic), AlgorithmIdentifier {id-ecPublicKey, curve}, SEC1 inside
//   RSA     version 0, AlgorithmIdentifier {rsaEncryption} without NULL, PKCS#1 inside
//   Ed25519 version 0, OID 1.3.6.1.4.1.11591.15.1, 96 bytes public‖seed‖public
// We read those plus the standard forms (NULL parameters, RFC 8410 Ed25519).
// Encryption of the DER lives in pbes2.ts.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { children, DerError, expectTag, int, octets, oid, parseOne, readOid, readSmallInt, seq, TAG } from '../shared/crypto/der-tlv.js';

export const OID = {
  EC_PUBLIC_KEY: '1.2.840.10045.2.1',
  RSA_ENCRYPTION: '1.2.840.113549.1.1.1',
  ED25519_NOTARY: '1.3.6.1.4.1.11591.15.1',
  ED25519: '1.3.101.112',
} as const;

// Curve OID <-> OpenSSL curve name, for the curves Go's x509 knows.
const CURVES: ReadonlyArray<readonly [string, string]> = [
  ['1.2.840.10045.3.1.7', 'prime256v1'],
  ['1.3.132.0.34', 'secp384r1'],
  ['1.3.132.0.35', 'secp521r1'],
  ['1.3.132.0.33', 'secp224r1'],
];

// RFC 8410 PKCS#8 prefix; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX_LEN = 12;

/** The key's algorithm is not one a Notary key file can hold. */
export class UnsupportedKeyError extends Error {}

/** Ed25519 KeyObject from its 32-byte seed. */
export function ed25519FromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Ed25519 KeyObject from Notary's 96-byte (or legacy 32‖64) serialisation public‖seed‖public. */
export function ed25519FromNotaryBytes(body: Buffer): KeyObject {
  if (body.length !== 96) throw new DerError(`ed25519 key body must be 96 bytes, got ${body.length}`);
  const key = ed25519FromSeed(body.subarray(32, 64));
  const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX_LEN);
  if (!pub.equals(body.subarray(0, 32)) || !pub.equals(body.subarray(64, 96))) {
    throw new DerError('ed25519 key body: public key does not belong to the seed');
  }
  return key;
}

function ed25519Parts(key: KeyObject): { seed: Buffer; pub: Buffer } {
  const seed = key.export({ format: 'der', type: 'pkcs8' }).subarray(ED25519_PKCS8_PREFIX.length);
  const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX_LEN);
  return { seed: Buffer.from(seed), pub: Buffer.from(pub) };
}

/** Plaintext PKCS#8 DER exactly as Notary writes it. */
export function toNotaryPkcs8(key: KeyObject): Buffer {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curveName = key.asymmetricKeyDetails?.namedCurve;
      const curve = CURVES.find(([, name]) => name === curveName);
      if (curve === undefined) throw new UnsupportedKeyError(`elliptic curve ${curveName ?? 'unknown'} is not supported`);
      const sec1 = key.export({ format: 'der', type: 'sec1' });
      return seq(int(1), seq(oid(OID.EC_PUBLIC_KEY), oid(curve[0])), octets(sec1));
    }
    case 'rsa': {
      const pkcs1 = key.export({ format: 'der', type: 'pkcs1' });
      return seq(int(0), seq(oid(OID.RSA_ENCRYPTION)), octets(pkcs1));
    }
    case 'ed25519': {
      const { seed, pub } = ed25519Parts(key);
      return seq(int(0), seq(oid(OID.ED25519_NOTARY)), octets(Buffer.concat([pub, seed, pub])));
    }
    default:
      throw new UnsupportedKeyError(`key type ${key.asymmetricKeyType ?? 'unknown'} is not supported`);
  }
}

/**
 * Reads plaintext PKCS#8 DER in Notary's or the standard form.
 * @throws {DerError} when the bytes are not PKCS#8 (after decryption: a wrong passphrase).
 * @throws {UnsupportedKeyError} when the structure is fine but the algorithm is not ours.
 */
export function fromPkcs8(der: Buffer): KeyObject {
  const top = children(parseOne(der, TAG.SEQUENCE, 'PrivateKeyInfo'));
  const version = readSmallInt(top[0], 'PrivateKeyInfo.version');
  if (version > 1) throw new DerError(`PrivateKeyInfo.version ${version} is unknown`);
  const alg = children(expectTag(top[1], TAG.SEQUENCE, 'PrivateKeyInfo.privateKeyAlgorithm'));
  const algOid = readOid(alg[0], 'privateKeyAlgorithm.algorithm');
  const body = expectTag(top[2], TAG.OCTET_STRING, 'PrivateKeyInfo.privateKey').value;
  for (const extra of top.slice(3)) {
    if (extra.tag !== TAG.CONTEXT_0 && extra.tag !== TAG.CONTEXT_1) throw new DerError('PrivateKeyInfo has unexpected trailing fields');
  }
  const importStandard = (algId: Buffer): KeyObject => {
    try {
      return createPrivateKey({ key: seq(int(0), algId, octets(body)), format: 'der', type: 'pkcs8' });
    } catch (cause) {
      throw new DerError('the private key inside PKCS#8 does not parse', { cause });
    }
  };
  switch (algOid) {
    case OID.EC_PUBLIC_KEY: {
      const curveOid = readOid(alg[1], 'id-ecPublicKey parameters');
      if (!CURVES.some(([o]) => o === curveOid)) throw new UnsupportedKeyError(`elliptic curve ${curveOid} is not supported`);
      return importStandard(seq(oid(OID.EC_PUBLIC_KEY), oid(curveOid)));
    }
    case OID.RSA_ENCRYPTION:
      // Notary omits the NULL parameter, standard tools write it; accept both.
      if (alg[1] !== undefined && (alg[1].tag !== TAG.NULL || alg[1].value.length !== 0)) throw new DerError('rsaEncryption parameters must be NULL or absent');
      return importStandard(seq(oid(OID.RSA_ENCRYPTION), Buffer.from([TAG.NULL, 0])));
    case OID.ED25519_NOTARY:
      return ed25519FromNotaryBytes(body);
    case OID.ED25519: {
      const seed = parseOne(body, TAG.OCTET_STRING, 'ed25519 CurvePrivateKey').value;
      if (seed.length !== 32) throw new DerError(`ed25519 seed must be 32 bytes, got ${seed.length}`);
      return ed25519FromSeed(seed);
    }
    default:
      throw new UnsupportedKeyError(`key algorithm ${algOid} is not supported`);
  }
}

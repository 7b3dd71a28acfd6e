// SPDX-License-Identifier: Apache-2.0
// Notary v1 key records: key IDs, canonical key IDs and PublicKey construction.
//   key ID           = hex SHA-256 of canonical {"keytype":T,"keyval":{"private":null,"public":P}}
//   canonical key ID = the key ID of the plain key inside a certificate
//                      (keytype ecdsa/rsa, public = base64 DER SPKI); equal to the
//                      key ID for non-certificate keys.
// Signature and root/delegation key IDs use the key ID; private key files,
// `key list` and the server's signer use the canonical one.

import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { DeserializationError } from '../errors.js';
import { canonicalize } from '../json/canonical.js';
import { decodeBase64Strict } from './base64.js';
import type { KeyAlgorithm, PublicKey } from '../tuf/model.js';

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function notaryKeyId(keyType: string, publicValue: string): string {
  const body = canonicalize({ keytype: keyType, keyval: { private: null, public: publicValue } });
  return createHash('sha256').update(body).digest('hex');
}

const ALGORITHM_OF: Record<string, KeyAlgorithm> = {
  ed25519: 'ed25519',
  ecdsa: 'ecdsa',
  'ecdsa-x509': 'ecdsa',
  rsa: 'rsa',
  'rsa-x509': 'rsa',
};

/** Split PEM text into certificates, leaf first. */
function parseCertificateChain(pem: string, field: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (blocks === null) throw new DeserializationError(field, 'holds no PEM certificate');
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch (cause) {
    throw new DeserializationError(field, 'holds a certificate that does not parse', { cause });
  }
}

/**
 * Build a PublicKey from a Notary wire keytype and public value. Unknown keytypes
 * yield an `unknown` key that verifies nothing (Notary keeps them opaque too).
 * @throws {DeserializationError} when the value does not decode for its keytype.
 */
export function makeNotaryPublicKey(keyType: string, publicValue: string, field = 'keyval.public'): PublicKey {
  // Every refresh, publish and policy check meets the same keys again; parsing a
  // certificate and hashing the key ID each time showed in profiles. Keys are
  // immutable values, so one object per wire form is shared (and node:crypto
  // key objects cached per PublicKey are reused with it). Failures are not cached.
  const memoKey = keyType + '\u0000' + publicValue;
  const known = KEY_MEMO.get(memoKey);
  if (known !== undefined) return known;
  const key = Object.freeze(buildNotaryPublicKey(keyType, publicValue, field));
  if (KEY_MEMO.size >= KEY_MEMO_LIMIT) KEY_MEMO.clear();
  KEY_MEMO.set(memoKey, key);
  return key;
}

const KEY_MEMO = new Map<string, PublicKey>();
const KEY_MEMO_LIMIT = 4096;

function buildNotaryPublicKey(keyType: string, publicValue: string, field: string): PublicKey {
  const algorithm = ALGORITHM_OF[keyType] ?? 'unknown';
  const id = notaryKeyId(keyType, publicValue);
  if (algorithm === 'unknown') return { id, algorithm, keyType, publicValue, spki: null, certificates: [] };
  const bytes = decodeBase64Strict(publicValue, field);
  if (keyType.endsWith('-x509')) {
    const certificates = parseCertificateChain(bytes.toString('utf8'), field);
    let leafKey: KeyObject;
    try {
      leafKey = certificates[0]!.publicKey; // throws when the certificate's key does not decode
    } catch (cause) {
      throw new DeserializationError(field, 'certificate holds a public key that cannot be decoded', { cause });
    }
    const spki = leafKey.export({ type: 'spki', format: 'der' });
    if (leafKey.asymmetricKeyType !== (algorithm === 'ecdsa' ? 'ec' : 'rsa')) {
      throw new DeserializationError(field, `certificate holds a ${leafKey.asymmetricKeyType ?? 'unknown'} key, not ${algorithm}`);
    }
    return { id, algorithm, keyType, publicValue, spki, certificates };
  }
  if (algorithm === 'ed25519') {
    if (bytes.length !== 32) throw new DeserializationError(field, `ed25519 public key must be 32 bytes, got ${bytes.length}`);
    return { id, algorithm, keyType, publicValue, spki: Buffer.concat([ED25519_SPKI_PREFIX, bytes]), certificates: [] };
  }
  let ko: KeyObject;
  try {
    ko = createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  } catch (cause) {
    throw new DeserializationError(field, `is not a DER SubjectPublicKeyInfo for ${keyType}`, { cause });
  }
  if (ko.asymmetricKeyType !== (algorithm === 'ecdsa' ? 'ec' : 'rsa')) {
    throw new DeserializationError(field, `holds a ${ko.asymmetricKeyType ?? 'unknown'} key, not ${algorithm}`);
  }
  return { id, algorithm, keyType, publicValue, spki: bytes, certificates: [] };
}

/** The canonical key ID: key ID of the plain key (the certificate's SPKI for x509 keys). */
export function canonicalKeyId(key: PublicKey): string {
  if (key.certificates.length === 0 || key.spki === null) return key.id;
  return notaryKeyId(key.algorithm, key.spki.toString('base64'));
}

/** Notary PublicKey (plain, non-certificate) of a node:crypto key. */
export function publicKeyFromKeyObject(keyObject: KeyObject): PublicKey {
  const pub = keyObject.type === 'private' ? createPublicKey(keyObject) : keyObject;
  switch (pub.asymmetricKeyType) {
    case 'ed25519': {
      const raw = pub.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
      return makeNotaryPublicKey('ed25519', raw.toString('base64'));
    }
    case 'ec':
      return makeNotaryPublicKey('ecdsa', pub.export({ format: 'der', type: 'spki' }).toString('base64'));
    case 'rsa':
      return makeNotaryPublicKey('rsa', pub.export({ format: 'der', type: 'spki' }).toString('base64'));
    default:
      throw new DeserializationError('', `unsupported key type ${pub.asymmetricKeyType ?? 'unknown'}`, { code: 'UNSUPPORTED_ALGORITHM' });
  }
}

/** Notary PublicKey of a certificate chain (PEM text, leaf first), as `ecdsa-x509` or `rsa-x509`. */
export function publicKeyFromCertificatePem(pem: string): PublicKey {
  const leaf = parseCertificateChain(pem, 'certificate')[0]!;
  const type = leaf.publicKey.asymmetricKeyType === 'ec' ? 'ecdsa-x509' : leaf.publicKey.asymmetricKeyType === 'rsa' ? 'rsa-x509' : null;
  if (type === null) throw new DeserializationError('certificate', `unsupported certificate key type ${leaf.publicKey.asymmetricKeyType ?? 'unknown'}`, { code: 'UNSUPPORTED_ALGORITHM' });
  return makeNotaryPublicKey(type, Buffer.from(pem, 'utf8').toString('base64'));
}

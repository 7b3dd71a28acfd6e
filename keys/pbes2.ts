// SPDX-License-Identifier: Apache-2.0
// PKCS#8 EncryptedPrivateKeyInfo with PBES2 (RFC 8018), written exactly as
// Notary writes it: PBKDF2 with HMAC-SHA1 (PRF omitted = the default), 2048
// iterations, 8-byte salt, AES-256-CBC with a 16-byte IV, PKCS#7 padding.
//
// Why not node:crypto's `export({cipher, passphrase})`: OpenSSL 3 writes the
// PRF hmacWithSHA256, and Notary's Go parser ignores the PRF field and always
// derives with SHA-1, so it would fail to decrypt (reported as "incorrect
// password"). Reading accepts the common PRFs (SHA-1/224/256/384/512) and
// AES-128/192/256-CBC, so files from OpenSSL or Node are readable too.

import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { children, DerError, expectTag, int, octets, oid, parseOne, readOid, readSmallInt, seq, TAG } from '../shared/crypto/der-tlv.js';

const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_PBKDF2 = '1.2.840.113549.1.5.12';
const PRF_DIGEST: Readonly<Record<string, string>> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const AES_CBC: Readonly<Record<string, { cipher: string; keyLength: number }>> = {
  '2.16.840.1.101.3.4.1.2': { cipher: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { cipher: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { cipher: 'aes-256-cbc', keyLength: 32 },
};
const OID_AES256_CBC = '2.16.840.1.101.3.4.1.42';

/** Notary's parameters (tuf/utils/pkcs8.go). */
export const NOTARY_PBKDF2_ITERATIONS = 2048;
const SALT_BYTES = 8;
// SECURITY: an attacker-supplied file must not make us spin for minutes.
const MAX_ITERATIONS = 10_000_000;

export interface EncryptedKeyInfo {
  readonly digest: string;
  readonly salt: Buffer;
  readonly iterations: number;
  readonly cipher: string;
  readonly keyLength: number;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
}

/** Encrypts plaintext PKCS#8 DER into Notary's EncryptedPrivateKeyInfo DER. */
export function encryptPkcs8(plain: Buffer, passphrase: string): Buffer {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(passphrase, 'utf8'), salt, NOTARY_PBKDF2_ITERATIONS, 32, 'sha1');
  const c = createCipheriv('aes-256-cbc', key, iv);
  const ciphertext = Buffer.concat([c.update(plain), c.final()]);
  key.fill(0);
  const kdf = seq(oid(OID_PBKDF2), seq(octets(salt), int(NOTARY_PBKDF2_ITERATIONS)));
  const enc = seq(oid(OID_AES256_CBC), octets(iv));
  return seq(seq(oid(OID_PBES2), seq(kdf, enc)), octets(ciphertext));
}

/**
 * Parses the EncryptedPrivateKeyInfo structure (no decryption yet), so a file
 * that is not a key is told apart from a wrong passphrase.
 * @throws {DerError} on any structural problem or unsupported scheme.
 */
export function parseEncryptedPkcs8(der: Buffer): EncryptedKeyInfo {
  const top = children(parseOne(der, TAG.SEQUENCE, 'EncryptedPrivateKeyInfo'));
  if (top.length !== 2) throw new DerError('EncryptedPrivateKeyInfo must have 2 fields');
  const alg = children(expectTag(top[0], TAG.SEQUENCE, 'encryptionAlgorithm'));
  const schemeOid = readOid(alg[0], 'encryptionAlgorithm.algorithm');
  if (schemeOid !== OID_PBES2) throw new DerError(`encryption scheme ${schemeOid} is not supported (only PBES2)`);
  const params = children(expectTag(alg[1], TAG.SEQUENCE, 'PBES2-params'));
  const kdf = children(expectTag(params[0], TAG.SEQUENCE, 'keyDerivationFunc'));
  const kdfOid = readOid(kdf[0], 'keyDerivationFunc.algorithm');
  if (kdfOid !== OID_PBKDF2) throw new DerError(`key derivation ${kdfOid} is not supported (only PBKDF2)`);
  const kdfParams = children(expectTag(kdf[1], TAG.SEQUENCE, 'PBKDF2-params'));
  const salt = expectTag(kdfParams[0], TAG.OCTET_STRING, 'PBKDF2 salt').value;
  const iterations = readSmallInt(kdfParams[1], 'PBKDF2 iterationCount');
  if (iterations < 1 || iterations > MAX_ITERATIONS) throw new DerError(`PBKDF2 iteration count ${iterations} is out of range`);
  let rest = kdfParams.slice(2);
  let keyLength: number | undefined;
  if (rest[0]?.tag === TAG.INTEGER) {
    keyLength = readSmallInt(rest[0], 'PBKDF2 keyLength');
    rest = rest.slice(1);
  }
  let digest = 'sha1';
  if (rest[0] !== undefined) {
    const prf = children(expectTag(rest[0], TAG.SEQUENCE, 'PBKDF2 prf'));
    const prfOid = readOid(prf[0], 'PBKDF2 prf.algorithm');
    const d = PRF_DIGEST[prfOid];
    if (d === undefined) throw new DerError(`PBKDF2 PRF ${prfOid} is not supported`);
    digest = d;
    rest = rest.slice(1);
  }
  if (rest.length > 0) throw new DerError('PBKDF2-params has unexpected trailing fields');
  const enc = children(expectTag(params[1], TAG.SEQUENCE, 'encryptionScheme'));
  const encOid = readOid(enc[0], 'encryptionScheme.algorithm');
  const aes = AES_CBC[encOid];
  if (aes === undefined) throw new DerError(`cipher ${encOid} is not supported (only AES-CBC)`);
  if (keyLength !== undefined && keyLength !== aes.keyLength) throw new DerError('PBKDF2 keyLength does not match the cipher');
  const iv = expectTag(enc[1], TAG.OCTET_STRING, 'AES-CBC IV').value;
  if (iv.length !== 16) throw new DerError(`AES-CBC IV must be 16 bytes, got ${iv.length}`);
  const ciphertext = expectTag(top[1], TAG.OCTET_STRING, 'encryptedData').value;
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) throw new DerError('encryptedData is not a whole number of AES blocks');
  return { digest, salt, iterations, cipher: aes.cipher, keyLength: aes.keyLength, iv, ciphertext };
}

/** Decrypts; returns null when the padding is wrong (almost always a wrong passphrase). */
export function decryptPkcs8(info: EncryptedKeyInfo, passphrase: string): Buffer | null {
  const key = pbkdf2Sync(Buffer.from(passphrase, 'utf8'), info.salt, info.iterations, info.keyLength, info.digest);
  try {
    const d = createDecipheriv(info.cipher, key, info.iv);
    return Buffer.concat([d.update(info.ciphertext), d.final()]);
  } catch {
    return null;
  } finally {
    key.fill(0);
  }
}

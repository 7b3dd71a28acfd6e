// SPDX-License-Identifier: Apache-2.0
// Pre-0.6 Notary key blocks, read only (Notary 0.7 reads them, never writes
// them; neither do we): `EC PRIVATE KEY` (SEC1), `RSA PRIVATE KEY` (PKCS#1),
// `ED25519 PRIVATE KEY` (public‖seed‖public), optionally encrypted the
// OpenSSL "traditional" way that Go's x509.EncryptPEMBlock uses:
//   Proc-Type: 4,ENCRYPTED
//   DEK-Info: AES-256-CBC,<hex IV>
// key = MD5-based EVP_BytesToKey(passphrase, salt = IV[0..8], 1 round).
// DES-CBC is refused: OpenSSL 3 only has it in the legacy provider.

import { createDecipheriv, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { DerError } from '../shared/crypto/der-tlv.js';
import type { PemBlock } from './pem.js';
import { ed25519FromNotaryBytes } from './pkcs8.js';

export const LEGACY_KEY_TYPES: readonly string[] = ['EC PRIVATE KEY', 'RSA PRIVATE KEY', 'ED25519 PRIVATE KEY'];

const DEK_CIPHERS: Readonly<Record<string, { cipher: string; keyLength: number; blockSize: number }>> = {
  'AES-128-CBC': { cipher: 'aes-128-cbc', keyLength: 16, blockSize: 16 },
  'AES-192-CBC': { cipher: 'aes-192-cbc', keyLength: 24, blockSize: 16 },
  'AES-256-CBC': { cipher: 'aes-256-cbc', keyLength: 32, blockSize: 16 },
  'DES-EDE3-CBC': { cipher: 'des-ede3-cbc', keyLength: 24, blockSize: 8 },
};

export interface LegacyEncryption {
  readonly cipher: string;
  readonly keyLength: number;
  readonly blockSize: number;
  readonly iv: Buffer;
}

/**
 * The block's traditional encryption parameters, or null when it is not encrypted.
 * @throws {DerError} when the Proc-Type/DEK-Info headers are malformed or unsupported.
 */
export function legacyEncryption(block: PemBlock): LegacyEncryption | null {
  const procType = block.headers.get('Proc-Type');
  if (procType === undefined) return null;
  if (procType !== '4,ENCRYPTED') throw new DerError(`Proc-Type "${procType}" is not supported`);
  const dek = block.headers.get('DEK-Info');
  if (dek === undefined) throw new DerError('encrypted block has no DEK-Info header');
  const [name, ivHex, ...more] = dek.split(',');
  const spec = DEK_CIPHERS[name ?? ''];
  if (spec === undefined) throw new DerError(`DEK-Info cipher ${name ?? ''} is not supported`);
  if (more.length > 0 || ivHex === undefined || !/^[0-9A-Fa-f]+$/.test(ivHex) || ivHex.length !== spec.blockSize * 2) {
    throw new DerError('DEK-Info IV is malformed');
  }
  if (block.bytes.length === 0 || block.bytes.length % spec.blockSize !== 0) throw new DerError('encrypted block is not a whole number of cipher blocks');
  return { ...spec, iv: Buffer.from(ivHex, 'hex') };
}

function deriveKey(passphrase: Buffer, salt: Buffer, keyLength: number): Buffer {
  const out = Buffer.alloc(keyLength);
  let digest = Buffer.alloc(0);
  for (let i = 0; i < keyLength; i += digest.length) {
    digest = createHash('md5').update(digest).update(passphrase).update(salt).digest();
    digest.copy(out, i);
  }
  return out;
}

/** Decrypts like Go's x509.DecryptPEMBlock; null when the padding is wrong (a wrong passphrase). */
export function decryptLegacy(block: PemBlock, enc: LegacyEncryption, passphrase: string): Buffer | null {
  const key = deriveKey(Buffer.from(passphrase, 'utf8'), enc.iv.subarray(0, 8), enc.keyLength);
  try {
    const d = createDecipheriv(enc.cipher, key, enc.iv);
    d.setAutoPadding(false);
    const plain = Buffer.concat([d.update(block.bytes), d.final()]);
    const pad = plain[plain.length - 1]!;
    if (pad === 0 || pad > enc.blockSize || pad > plain.length) return null;
    for (let i = plain.length - pad; i < plain.length; i++) if (plain[i] !== pad) return null;
    return plain.subarray(0, plain.length - pad);
  } finally {
    key.fill(0);
  }
}

/**
 * Key of a decrypted legacy body.
 * @throws {DerError} when the body does not parse (after decryption: a wrong passphrase).
 */
export function keyFromLegacyBody(type: string, der: Buffer): KeyObject {
  if (type === 'ED25519 PRIVATE KEY') return ed25519FromNotaryBytes(der);
  try {
    if (type === 'EC PRIVATE KEY') return createPrivateKey({ key: der, format: 'der', type: 'sec1' });
    if (type === 'RSA PRIVATE KEY') return createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
  } catch (cause) {
    throw new DerError(`${type} body does not parse`, { cause });
  }
  throw new DerError(`PEM type ${type} is not a legacy key type`);
}

// SPDX-License-Identifier: Apache-2.0
// Encryption at rest of server-held private keys. The store only ever sees the
// output of `sealServerKey`; the passphrase comes from the server config
// (SIGNET_SIGNER_KEY_PASSPHRASE) and is never stored or logged.
//
// Blob layout (all lengths fixed, so nothing in it needs parsing beyond offsets):
//   0      1 byte   format version (1)
//   1      1 byte   scrypt log2(N)
//   2      1 byte   scrypt r
//   3      1 byte   scrypt p
//   4     16 bytes  salt (fresh per key)
//   20    12 bytes  AES-GCM IV
//   32    16 bytes  AES-GCM tag
//   48     ...      ciphertext of the PKCS#8 DER private key
// The header and the key's identity (GUN, role, key ID) are GCM associated
// data: a blob copied onto another row (another GUN or key ID) fails to open.

import { createCipheriv, createDecipheriv, randomBytes, scrypt, type BinaryLike, type ScryptOptions } from 'node:crypto';
import { KeyStoreError } from '../../shared/errors.js';

const FORMAT_VERSION = 1;
const HEADER_LENGTH = 48;
const SALT_LENGTH = 16;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/** scrypt cost. The default (N = 2^15, r = 8, p = 1: 32 MiB, ~0.1 s) is OWASP's minimum; tests may go lower. */
export interface KdfParams {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}
export const DEFAULT_KDF: KdfParams = { logN: 15, r: 8, p: 1 };
// Below this a stolen database could be brute-forced cheaply; above it a decrypt takes seconds.
const MIN_LOG_N = 10;
const MAX_LOG_N = 20;

/** What a sealed key is bound to: it opens only for exactly this GUN, role and key ID. */
export interface KeyBinding {
  readonly gun: string;
  readonly role: string;
  readonly keyId: string;
}

function checkKdf(k: KdfParams): void {
  const ok =
    Number.isInteger(k.logN) && k.logN >= MIN_LOG_N && k.logN <= MAX_LOG_N && Number.isInteger(k.r) && k.r >= 1 && k.r <= 32 && Number.isInteger(k.p) && k.p >= 1 && k.p <= 16;
  if (!ok) {
    throw new KeyStoreError('KEY_FILE_INVALID', `scrypt parameters log2(N)=${k.logN}, r=${k.r}, p=${k.p} are out of range; use log2(N) ${MIN_LOG_N}-${MAX_LOG_N}, r 1-32, p 1-16`);
  }
}

function deriveKey(passphrase: string, salt: Buffer, k: KdfParams): Promise<Buffer> {
  const N = 2 ** k.logN;
  const options: ScryptOptions = { N, r: k.r, p: k.p, maxmem: 256 * N * k.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(passphrase as BinaryLike, salt, 32, options, (err, key) => (err === null ? resolve(key) : reject(err)));
  });
}

function associatedData(header: Buffer, b: KeyBinding): Buffer {
  // NUL cannot occur in a GUN, a role name or a hex key ID, so the fields cannot run together.
  return Buffer.concat([header, Buffer.from(`signet-server-key\0${b.gun}\0${b.role}\0${b.keyId}`, 'utf8')]);
}

function requirePassphrase(passphrase: string): void {
  if (passphrase.length === 0) {
    throw new KeyStoreError('PASSPHRASE_REQUIRED', 'server keys need an encryption passphrase: set SIGNET_SIGNER_KEY_PASSPHRASE');
  }
}

/**
 * Encrypt a PKCS#8 DER private key for storage (scrypt -> AES-256-GCM).
 * @throws {KeyStoreError} PASSPHRASE_REQUIRED for an empty passphrase, KEY_FILE_INVALID for bad KDF parameters.
 */
export async function sealServerKey(pkcs8Der: Buffer, passphrase: string, binding: KeyBinding, kdf: KdfParams = DEFAULT_KDF): Promise<Buffer> {
  requirePassphrase(passphrase);
  checkKdf(kdf);
  const salt = randomBytes(SALT_LENGTH);
  const iv = randomBytes(IV_LENGTH);
  const header = Buffer.concat([Buffer.from([FORMAT_VERSION, kdf.logN, kdf.r, kdf.p]), salt, iv]);
  const key = await deriveKey(passphrase, salt, kdf);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(associatedData(header, binding));
  const ciphertext = Buffer.concat([cipher.update(pkcs8Der), cipher.final()]);
  key.fill(0);
  return Buffer.concat([header, cipher.getAuthTag(), ciphertext]);
}

/**
 * Decrypt a blob made by `sealServerKey` for exactly this binding; returns the PKCS#8 DER.
 * @throws {KeyStoreError} KEY_FILE_INVALID for a damaged blob, PASSPHRASE_WRONG when it does not
 * open (wrong passphrase, or a blob moved to another GUN/role/key ID).
 */
export async function openServerKey(blob: Buffer, passphrase: string, binding: KeyBinding): Promise<Buffer> {
  requirePassphrase(passphrase);
  const where = `server ${binding.role} key ${binding.keyId} of ${binding.gun}`;
  if (blob.length <= HEADER_LENGTH || blob[0] !== FORMAT_VERSION) {
    throw new KeyStoreError('KEY_FILE_INVALID', `${where} is not in a known encrypted format; restore the key row from a backup or rotate the key`);
  }
  const kdf: KdfParams = { logN: blob[1]!, r: blob[2]!, p: blob[3]! };
  checkKdf(kdf);
  const salt = blob.subarray(4, 4 + SALT_LENGTH);
  const iv = blob.subarray(4 + SALT_LENGTH, 4 + SALT_LENGTH + IV_LENGTH);
  const header = blob.subarray(0, 4 + SALT_LENGTH + IV_LENGTH);
  const tag = blob.subarray(32, HEADER_LENGTH);
  const key = await deriveKey(passphrase, Buffer.from(salt), kdf);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
    decipher.setAAD(associatedData(Buffer.from(header), binding));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(blob.subarray(HEADER_LENGTH)), decipher.final()]);
  } catch (cause) {
    throw new KeyStoreError(
      'PASSPHRASE_WRONG',
      `${where} could not be decrypted: the signer passphrase (SIGNET_SIGNER_KEY_PASSPHRASE) is wrong, or the key row was altered or moved`,
      { cause },
    );
  } finally {
    key.fill(0);
  }
}

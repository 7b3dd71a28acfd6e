// SPDX-License-Identifier: Apache-2.0
// One Notary private key file: parse (before any passphrase is asked, so a
// file that is not a key is reported as such), unlock, and encode in Notary's
// exact form. Every parse problem becomes KEY_FILE_INVALID naming the file;
// a passphrase that does not decrypt yields null, and the caller retries.
//
// Accepted: `ENCRYPTED PRIVATE KEY` (PBES2) and `PRIVATE KEY` (PKCS#8, what
// Notary writes for an empty passphrase; we read it but never write it), and
// the pre-0.6 blocks of legacy-pem.ts. Other blocks such as `EC PARAMETERS`
// (openssl ecparam output) are skipped; more than one key block is refused.

import type { KeyObject } from 'node:crypto';
import { KeyStoreError } from '../shared/errors.js';
import { DerError } from '../shared/crypto/der-tlv.js';
import { decryptLegacy, keyFromLegacyBody, LEGACY_KEY_TYPES, legacyEncryption, type LegacyEncryption } from './legacy-pem.js';
import { encodePem, parsePemBlocks, PemError, type PemBlock } from './pem.js';
import { decryptPkcs8, encryptPkcs8, parseEncryptedPkcs8, type EncryptedKeyInfo } from './pbes2.js';
import { fromPkcs8, toNotaryPkcs8, UnsupportedKeyError } from './pkcs8.js';

// SECURITY: key files are tiny; refuse to read megabytes into memory.
export const MAX_KEY_FILE_BYTES = 64 * 1024;

export type KeyFileContent =
  | { readonly kind: 'encrypted-pkcs8'; readonly info: EncryptedKeyInfo }
  | { readonly kind: 'plain'; readonly key: KeyObject }
  | { readonly kind: 'encrypted-legacy'; readonly block: PemBlock; readonly enc: LegacyEncryption };

export interface KeyFile {
  /** `role` header; undefined when absent. */
  readonly role?: string;
  /** `gun` header; undefined when absent. */
  readonly gun?: string;
  readonly pemType: string;
  readonly content: KeyFileContent;
}

function invalid(location: string, what: string, cause?: unknown): KeyStoreError {
  return new KeyStoreError('KEY_FILE_INVALID', `${location} is not a usable private key file: ${what}; restore it from a backup or remove it`, cause === undefined ? undefined : { cause });
}

function describe(err: unknown): string {
  return err instanceof DerError || err instanceof PemError || err instanceof UnsupportedKeyError ? err.message : 'malformed key data';
}

/**
 * Parses a key file's bytes.
 * @throws {KeyStoreError} KEY_FILE_INVALID naming `location`.
 */
export function parseKeyFile(bytes: Buffer, location: string): KeyFile {
  if (bytes.length > MAX_KEY_FILE_BYTES) throw invalid(location, `larger than ${MAX_KEY_FILE_BYTES} bytes`);
  let blocks: PemBlock[];
  try {
    blocks = parsePemBlocks(bytes.toString('utf8'));
  } catch (cause) {
    throw invalid(location, describe(cause), cause);
  }
  const keyBlocks = blocks.filter((b) => b.type.endsWith('PRIVATE KEY'));
  if (keyBlocks.length === 0) throw invalid(location, 'no PEM private key block');
  if (keyBlocks.length > 1) throw invalid(location, `${keyBlocks.length} private key blocks, expected one`);
  const block = keyBlocks[0]!;
  const role = block.headers.get('role');
  const gun = block.headers.get('gun');
  const head = { ...(role === undefined ? {} : { role }), ...(gun === undefined ? {} : { gun }), pemType: block.type };
  try {
    if (block.type === 'ENCRYPTED PRIVATE KEY') return { ...head, content: { kind: 'encrypted-pkcs8', info: parseEncryptedPkcs8(block.bytes) } };
    if (block.type === 'PRIVATE KEY') return { ...head, content: { kind: 'plain', key: fromPkcs8(block.bytes) } };
    if (LEGACY_KEY_TYPES.includes(block.type)) {
      const enc = legacyEncryption(block);
      if (enc !== null) return { ...head, content: { kind: 'encrypted-legacy', block, enc } };
      return { ...head, content: { kind: 'plain', key: keyFromLegacyBody(block.type, block.bytes) } };
    }
  } catch (cause) {
    throw invalid(location, describe(cause), cause);
  }
  throw invalid(location, `PEM type ${block.type} is not supported`);
}

export function isEncrypted(file: KeyFile): boolean {
  return file.content.kind !== 'plain';
}

/**
 * The key, decrypted with `passphrase`; null when the passphrase does not
 * decrypt it (Notary too reports any post-decryption parse failure as a wrong
 * passphrase).
 * @throws {KeyStoreError} KEY_FILE_INVALID when the decrypted key uses an unsupported algorithm.
 */
export function unlockKeyFile(file: KeyFile, passphrase: string, location: string): KeyObject | null {
  const c = file.content;
  if (c.kind === 'plain') return c.key;
  const plain = c.kind === 'encrypted-pkcs8' ? decryptPkcs8(c.info, passphrase) : decryptLegacy(c.block, c.enc, passphrase);
  if (plain === null) return null;
  try {
    return c.kind === 'encrypted-pkcs8' ? fromPkcs8(plain) : keyFromLegacyBody(c.block.type, plain);
  } catch (err) {
    if (err instanceof UnsupportedKeyError) throw invalid(location, err.message, err);
    return null;
  } finally {
    plain.fill(0);
  }
}

/** Roles whose key files carry a `gun` header (Notary drops it for root, delegations and unknown roles). */
export const GUN_ROLES: readonly string[] = ['targets', 'snapshot', 'timestamp'];

function headersFor(role: string, gun: string | undefined): Map<string, string> {
  const h = new Map<string, string>();
  if (role !== '') h.set('role', role);
  if (gun !== undefined && gun !== '' && GUN_ROLES.includes(role)) h.set('gun', gun);
  return h;
}

/** The encrypted PEM text Notary writes for a key (`ENCRYPTED PRIVATE KEY` with role/gun headers). */
export function encodeEncryptedKeyFile(key: KeyObject, role: string, gun: string | undefined, passphrase: string): string {
  const plain = toNotaryPkcs8(key);
  try {
    return encodePem({ type: 'ENCRYPTED PRIVATE KEY', headers: headersFor(role, gun), bytes: encryptPkcs8(plain, passphrase) });
  } finally {
    plain.fill(0);
  }
}

/** Unencrypted PEM in Notary's form; only for an explicit unencrypted export, never for a file we write. */
export function encodePlainKeyFile(key: KeyObject, role: string, gun: string | undefined): string {
  return encodePem({ type: 'PRIVATE KEY', headers: headersFor(role, gun), bytes: toNotaryPkcs8(key) });
}

// SPDX-License-Identifier: Apache-2.0
// The KeyStore contract every store (memory, trust_dir files, later PKCS#11)
// implements, and the rules they share: role/gun normalisation as Notary's
// key import does it, and key generation.
//
// SECURITY: no method hands out a private KeyObject or plaintext PEM; the only
// way to get key material out is exportPem, encrypted unless the caller asks
// for `unencrypted: true` by name.

import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { CryptoError, KeyStoreError, type TrustError } from '../shared/errors.js';
import type { KeyAlgorithm, PublicKey, RoleName, Signer } from '../shared/tuf/model.js';
import { GUN_ROLES } from './key-file.js';

export interface KeyInfo {
  /** Canonical key ID (Notary's private file name and `key list` ID). */
  readonly keyId: string;
  readonly role: RoleName;
  readonly gun?: string;
  /** `unknown` while an encrypted file has not been unlocked: PKCS#8 encryption hides the algorithm. */
  readonly algorithm: KeyAlgorithm;
  /** Where the key lives: a file path, `memory`, later `pkcs11:<token>`. */
  readonly location: string;
  /** Set when the key file cannot be used; says what is wrong with it. */
  readonly problem?: string;
}

export type GenerateAlgorithm = 'ecdsa' | 'ed25519' | 'rsa';

export interface GenerateOptions {
  readonly role: RoleName;
  /** Required for targets, snapshot and timestamp keys; dropped for other roles. */
  readonly gun?: string;
  /** Default `ecdsa` (P-256), as Notary. */
  readonly algorithm?: GenerateAlgorithm;
  /** RSA modulus size; default DEFAULT_RSA_BITS, at least MIN_RSA_BITS. */
  readonly rsaBits?: number;
}

export interface ImportOptions {
  /** Default: the PEM's `role` header, else `delegation` (Notary's default import role). */
  readonly role?: RoleName;
  /** Default: the PEM's `gun` header. */
  readonly gun?: string;
}

export interface ExportOptions {
  /** Encrypt the export with this passphrase instead of the key's own. */
  readonly passphrase?: string;
  /** Export an unencrypted `PRIVATE KEY` block. Must be asked for explicitly. */
  readonly unencrypted?: boolean;
}

export interface KeyStore {
  /** Human-readable store name (`file:<trust_dir>`, `memory`). */
  readonly name: string;
  list(): Promise<KeyInfo[]>;
  has(keyId: string): Promise<boolean>;
  /**
   * A signer for the key. With `publicKey` (e.g. a root certificate key) the
   * signer signs under that key's ID; it must hold the same public key.
   * @throws {KeyStoreError} KEY_NOT_FOUND, PASSPHRASE_REQUIRED, PASSPHRASE_WRONG, KEY_FILE_INVALID
   * @throws {CryptoError} INVALID_KEY when `publicKey` does not belong to the private key.
   */
  getSigner(keyId: string, publicKey?: PublicKey): Promise<Signer>;
  /** Creates a key; returns its plain public key (whose ID is the canonical ID). */
  generate(options: GenerateOptions): Promise<PublicKey>;
  /** `notary key import` semantics; unencrypted input is encrypted before it is stored. */
  importPem(pem: string | Buffer, options?: ImportOptions): Promise<PublicKey>;
  exportPem(keyId: string, options?: ExportOptions): Promise<string>;
  remove(keyId: string): Promise<void>;
  /** Asks for the current passphrase, then a new one, and re-encrypts. */
  changePassphrase(keyId: string): Promise<void>;
  /**
   * Why list() and has() last saw no keys although the store may hold some (a token that is not
   * present), else undefined. Stores that are always there (files, memory) leave it out.
   */
  unavailable?(): TrustError | undefined;
}

export const DEFAULT_IMPORT_ROLE = 'delegation';
export const MIN_RSA_BITS = 2048;
/** Notary 0.7 cannot generate RSA keys at all; 4096 suits long-lived signing keys. */
export const DEFAULT_RSA_BITS = 4096;

const ROLE_RE = /^[A-Za-z0-9_.\-/]+$/;

/**
 * Role and gun as they go into a key file: gun kept only for targets,
 * snapshot and timestamp (where it is required), dropped otherwise.
 * @throws {KeyStoreError} KEY_ROLE_INVALID
 */
export function normaliseRoleAndGun(role: string, gun: string | undefined): { role: string; gun?: string } {
  if (!ROLE_RE.test(role) || role.includes('..') || role.startsWith('/') || role.endsWith('/')) {
    throw new KeyStoreError('KEY_ROLE_INVALID', `role ${JSON.stringify(role)} is not a valid role name; use root, targets, snapshot, timestamp, delegation or targets/<name>`);
  }
  if (!GUN_ROLES.includes(role)) return { role };
  if (gun === undefined || gun === '') {
    throw new KeyStoreError('KEY_ROLE_INVALID', `a ${role} key belongs to one repository: give its gun (e.g. example.com/app)`);
  }
  if (/[\r\n]/.test(gun) || gun !== gun.trim()) throw new KeyStoreError('KEY_ROLE_INVALID', `gun ${JSON.stringify(gun)} contains whitespace or line breaks`);
  return { role, gun };
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * A new private key. ECDSA is P-256 as in Notary.
 * @throws {CryptoError} INVALID_KEY for an RSA size under MIN_RSA_BITS.
 */
export async function generatePrivateKey(algorithm: GenerateAlgorithm = 'ecdsa', rsaBits = DEFAULT_RSA_BITS): Promise<KeyObject> {
  switch (algorithm) {
    case 'ecdsa':
      return (await generateKeyPairAsync('ec', { namedCurve: 'P-256' })).privateKey;
    case 'ed25519':
      return (await generateKeyPairAsync('ed25519')).privateKey;
    case 'rsa':
      if (!Number.isSafeInteger(rsaBits) || rsaBits < MIN_RSA_BITS) {
        throw new CryptoError('INVALID_KEY', `RSA keys need at least ${MIN_RSA_BITS} bits, ${rsaBits} was asked for`);
      }
      return (await generateKeyPairAsync('rsa', { modulusLength: rsaBits })).privateKey;
    default:
      throw new CryptoError('UNSUPPORTED_ALGORITHM', `cannot generate ${String(algorithm)} keys; use ecdsa, ed25519 or rsa`);
  }
}

/**
 * Role and gun for an imported key, as `notary key import` decides them:
 * the PEM headers, the options, then `delegation`. Stricter than Notary: a
 * role option that contradicts the file's own `role` header is refused rather
 * than silently ignored (the same for gun).
 * @throws {KeyStoreError} KEY_ROLE_INVALID
 */
export function importLabels(headers: { role?: string; gun?: string }, options: ImportOptions): { role: string; gun?: string } {
  if (options.role !== undefined && headers.role !== undefined && headers.role !== options.role) {
    throw new KeyStoreError('KEY_ROLE_INVALID', `the key's PEM says role ${headers.role} but role ${options.role} was asked for; drop one of them`);
  }
  if (options.gun !== undefined && headers.gun !== undefined && headers.gun !== options.gun) {
    throw new KeyStoreError('KEY_ROLE_INVALID', `the key's PEM says gun ${headers.gun} but gun ${options.gun} was asked for; drop one of them`);
  }
  const role = options.role ?? headers.role ?? DEFAULT_IMPORT_ROLE;
  return normaliseRoleAndGun(role, options.gun ?? headers.gun);
}

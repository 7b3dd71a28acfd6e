// SPDX-License-Identifier: Apache-2.0
// KeyStore over a Notary trust_dir: `private/<canonical-id>.key`, encrypted
// PKCS#8 with `role`/`gun` headers, byte-compatible with notary 0.7.
//
// Legacy layouts (root_keys/, tuf_keys/, pre-0.6 PEM types) are read in place
// rather than migrated at start-up as Notary does. Opening a store is then
// side-effect free (a `key list` never rewrites or deletes anything, and a
// crash cannot lose a half-migrated key), and an older tool sharing the
// directory keeps working. A legacy key moves to the current layout only when
// it is written anyway: on changePassphrase.
//
// Unlocked keys are cached per store instance so one command asks for each
// passphrase once (Notary caches too); export and passphrase change always
// ask again, so they prove knowledge of the passphrase.

import path from 'node:path';
import { publicKeyFromKeyObject } from '../shared/codec/notary-keys.js';
import { KeyStoreError } from '../shared/errors.js';
import type { KeyAlgorithm, PublicKey, Signer } from '../shared/tuf/model.js';
import { encodeEncryptedKeyFile, encodePlainKeyFile, parseKeyFile, type KeyFile } from './key-file.js';
import {
  generatePrivateKey,
  importLabels,
  normaliseRoleAndGun,
  type ExportOptions,
  type GenerateOptions,
  type ImportOptions,
  type KeyInfo,
  type KeyStore,
} from './key-store.js';
import type { PassphraseRetriever } from './passphrase.js';
import { KEY_ID_RE, readKeyFileBytes, removeKeyFile, scanKeyFiles, writeKeyFileAtomic, type KeyFileEntry } from './trust-dir.js';
import { assertKeyId, assertKeyPairConsistent, newPassphrase, signerFor, unlock } from './unlock.js';
import type { KeyObject } from 'node:crypto';

interface Labels {
  readonly role: string;
  readonly gun?: string;
}

interface UnlockedKey extends Labels {
  readonly key: KeyObject;
  readonly algorithm: KeyAlgorithm;
}

/** How long a key found missing stays missing for has() before it rescans again. */
const MISS_RESCAN_MS = 1000;

export interface FileKeyStoreOptions {
  /** Source of passphrases; without one, encrypted keys cannot be opened or written. */
  readonly retriever?: PassphraseRetriever;
}

export class FileKeyStore implements KeyStore {
  readonly name: string;
  readonly trustDir: string;
  readonly privateDir: string;
  readonly #retriever: PassphraseRetriever | undefined;
  readonly #unlocked = new Map<string, UnlockedKey>();
  /**
   * IDs seen by the last scan of private/, for has(): a publish asks once per
   * staged change and a rescan walks three directories. The first miss of an
   * ID rescans, so a key another process added is found; a repeated miss
   * rescans at most once per MISS_RESCAN_MS. Own writes update the set.
   */
  #known: Set<string> | undefined;
  #scannedAt = 0;
  readonly #missing = new Set<string>();

  constructor(trustDir: string, options: FileKeyStoreOptions = {}) {
    this.trustDir = path.resolve(trustDir);
    this.privateDir = path.join(this.trustDir, 'private');
    this.name = `file:${this.trustDir}`;
    this.#retriever = options.retriever;
  }

  #pathFor(keyId: string): string {
    return path.join(this.privateDir, `${keyId}.key`);
  }

  #entries(keyId: string): KeyFileEntry[] {
    // SECURITY: only hex IDs reach the filesystem, so an ID cannot name a path.
    if (!KEY_ID_RE.test(keyId)) throw new KeyStoreError('KEY_NOT_FOUND', `${JSON.stringify(keyId)} is not a key ID (64 lowercase hex digits)`);
    const found = this.#scan().filter((e) => e.keyId === keyId);
    if (found.length === 0) throw new KeyStoreError('KEY_NOT_FOUND', `key ${keyId} is not in ${this.privateDir}; list the keys or import it`);
    return found;
  }

  #scan(): KeyFileEntry[] {
    const entries = scanKeyFiles(this.privateDir);
    this.#known = new Set(entries.map((e) => e.keyId));
    this.#scannedAt = Date.now();
    return entries;
  }

  #read(entry: KeyFileEntry): { file: KeyFile; labels: Labels } {
    const file = parseKeyFile(readKeyFileBytes(entry.path, entry.keyId), entry.path);
    const role = file.role ?? entry.legacy?.role ?? '';
    const gun = file.gun ?? entry.legacy?.gun;
    return { file, labels: { role, ...(gun === undefined ? {} : { gun }) } };
  }

  /** Decrypts the key (from the cache unless `fresh`), checks it is what its name says. */
  async #unlock(keyId: string, fresh: boolean): Promise<UnlockedKey & { entry: KeyFileEntry; file: KeyFile; passphrase?: string }> {
    const entry = this.#entries(keyId)[0]!;
    const cached = this.#unlocked.get(keyId);
    const { file, labels } = this.#read(entry);
    if (!fresh && cached !== undefined) return { ...cached, entry, file };
    const { key, passphrase } = await unlock(file, {
      keyName: keyId,
      ...labels,
      location: entry.path,
      ...(this.#retriever === undefined ? {} : { retriever: this.#retriever }),
    });
    const pub = assertKeyId(key, keyId, entry.path);
    assertKeyPairConsistent(key, entry.path);
    const unlocked: UnlockedKey = { key, algorithm: pub.algorithm, ...labels };
    this.#unlocked.set(keyId, unlocked);
    return { ...unlocked, entry, file, ...(passphrase === undefined ? {} : { passphrase }) };
  }

  async #store(key: KeyObject, labels: Labels, passphrase: string): Promise<PublicKey> {
    const pub = publicKeyFromKeyObject(key);
    await writeKeyFileAtomic(this.#pathFor(pub.id), encodeEncryptedKeyFile(key, labels.role, labels.gun, passphrase));
    this.#unlocked.set(pub.id, { key, algorithm: pub.algorithm, ...labels });
    this.#known?.add(pub.id);
    this.#missing.delete(pub.id);
    return pub;
  }

  async list(): Promise<KeyInfo[]> {
    const out: KeyInfo[] = [];
    const seen = new Set<string>();
    for (const entry of this.#scan()) {
      if (seen.has(entry.keyId)) continue; // the current layout shadows a legacy copy
      seen.add(entry.keyId);
      try {
        const { file, labels } = this.#read(entry);
        const plain = file.content.kind === 'plain' ? publicKeyFromKeyObject(file.content.key).algorithm : undefined;
        const algorithm = plain ?? this.#unlocked.get(entry.keyId)?.algorithm ?? 'unknown';
        out.push({ keyId: entry.keyId, ...labels, algorithm, location: entry.path });
      } catch (err) {
        if (!(err instanceof KeyStoreError) || err.code === 'KEY_STORE_IO') throw err;
        // One broken file must not hide the others (Notary skips it); say what is wrong instead.
        out.push({ keyId: entry.keyId, role: entry.legacy?.role ?? '', algorithm: 'unknown', location: entry.path, problem: err.message });
      }
    }
    return out;
  }

  async has(keyId: string): Promise<boolean> {
    if (!KEY_ID_RE.test(keyId)) return false;
    if (this.#known?.has(keyId) === true) return true;
    // A miss rescans: it may be a key another process added since the last scan.
    if (this.#missing.has(keyId) && Date.now() - this.#scannedAt < MISS_RESCAN_MS) return false;
    if (this.#scan().some((e) => e.keyId === keyId)) return true;
    this.#missing.add(keyId);
    return false;
  }

  async getSigner(keyId: string, publicKey?: PublicKey): Promise<Signer> {
    return signerFor((await this.#unlock(keyId, false)).key, publicKey);
  }

  async generate(options: GenerateOptions): Promise<PublicKey> {
    const labels = normaliseRoleAndGun(options.role, options.gun);
    const key = await generatePrivateKey(options.algorithm, options.rsaBits);
    const keyId = publicKeyFromKeyObject(key).id;
    return this.#store(key, labels, await newPassphrase(this.#retriever, keyId, labels.role, labels.gun));
  }

  async importPem(pem: string | Buffer, options: ImportOptions = {}): Promise<PublicKey> {
    const where = 'the imported key';
    const file = parseKeyFile(Buffer.isBuffer(pem) ? pem : Buffer.from(pem, 'utf8'), where);
    const labels = importLabels(file, options);
    const { key, passphrase } = await unlock(file, {
      keyName: 'import',
      ...labels,
      location: where,
      ...(this.#retriever === undefined ? {} : { retriever: this.#retriever }),
    });
    assertKeyPairConsistent(key, where);
    // An encrypted input keeps its passphrase (Notary stores such input as is); plain input, and input
    // encrypted under an empty passphrase (which anyone can open), gets a new one.
    const keyId = publicKeyFromKeyObject(key).id;
    return this.#store(key, labels, passphrase !== undefined && passphrase !== '' ? passphrase : await newPassphrase(this.#retriever, keyId, labels.role, labels.gun));
  }

  async exportPem(keyId: string, options: ExportOptions = {}): Promise<string> {
    if (options.unencrypted !== true && options.passphrase === undefined) {
      const entry = this.#entries(keyId)[0]!;
      const { file } = this.#read(entry);
      // Notary's `key export` copies the encrypted file; do the same for current-layout files.
      if (file.content.kind === 'encrypted-pkcs8' && entry.legacy === undefined) return readKeyFileBytes(entry.path, keyId).toString('utf8');
    }
    const u = await this.#unlock(keyId, true);
    if (options.unencrypted === true) return encodePlainKeyFile(u.key, u.role, u.gun);
    const passphrase = options.passphrase ?? (await newPassphrase(this.#retriever, keyId, u.role, u.gun));
    if (passphrase === '') throw new KeyStoreError('PASSPHRASE_REQUIRED', `an empty passphrase would export key ${keyId} unencrypted; pass unencrypted: true if that is meant`);
    return encodeEncryptedKeyFile(u.key, u.role, u.gun, passphrase);
  }

  async remove(keyId: string): Promise<void> {
    for (const entry of this.#entries(keyId)) await removeKeyFile(entry.path);
    this.#unlocked.delete(keyId);
    this.#known?.delete(keyId);
  }

  async changePassphrase(keyId: string): Promise<void> {
    const u = await this.#unlock(keyId, true);
    const labels = { role: u.role, ...(u.gun === undefined ? {} : { gun: u.gun }) };
    await this.#store(u.key, labels, await newPassphrase(this.#retriever, keyId, u.role, u.gun));
    // A legacy file has now been rewritten into the current layout; drop every old copy.
    for (const entry of this.#entries(keyId)) if (entry.path !== this.#pathFor(keyId)) await removeKeyFile(entry.path);
  }
}

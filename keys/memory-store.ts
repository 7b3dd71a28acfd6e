// SPDX-License-Identifier: Apache-2.0
// KeyStore in process memory: tests and ephemeral keys (e.g. server-held
// timestamp/snapshot keys before they are persisted elsewhere). Nothing is
// encrypted at rest because nothing is at rest; a retriever is only needed to
// import encrypted PEM or to export with a passphrase chosen interactively.

import { type KeyObject } from 'node:crypto';
import { publicKeyFromKeyObject } from '../shared/codec/notary-keys.js';
import { KeyStoreError } from '../shared/errors.js';
import type { PublicKey, Signer } from '../shared/tuf/model.js';
import { encodeEncryptedKeyFile, encodePlainKeyFile, parseKeyFile } from './key-file.js';
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
import { assertKeyPairConsistent, newPassphrase, signerFor, unlock } from './unlock.js';

interface Entry {
  readonly key: KeyObject;
  readonly publicKey: PublicKey;
  readonly role: string;
  readonly gun?: string;
}

export class MemoryKeyStore implements KeyStore {
  readonly name = 'memory';
  readonly #keys = new Map<string, Entry>();
  readonly #retriever: PassphraseRetriever | undefined;

  constructor(options: { retriever?: PassphraseRetriever } = {}) {
    this.#retriever = options.retriever;
  }

  #get(keyId: string): Entry {
    const e = this.#keys.get(keyId);
    if (e === undefined) throw new KeyStoreError('KEY_NOT_FOUND', `key ${keyId} is not in the memory key store`);
    return e;
  }

  #add(key: KeyObject, role: string, gun: string | undefined): PublicKey {
    const publicKey = publicKeyFromKeyObject(key);
    this.#keys.set(publicKey.id, { key, publicKey, role, ...(gun === undefined ? {} : { gun }) });
    return publicKey;
  }

  async list(): Promise<KeyInfo[]> {
    return [...this.#keys.values()].map((e) => ({
      keyId: e.publicKey.id,
      role: e.role,
      ...(e.gun === undefined ? {} : { gun: e.gun }),
      algorithm: e.publicKey.algorithm,
      location: 'memory',
    }));
  }

  async has(keyId: string): Promise<boolean> {
    return this.#keys.has(keyId);
  }

  async getSigner(keyId: string, publicKey?: PublicKey): Promise<Signer> {
    return signerFor(this.#get(keyId).key, publicKey);
  }

  async generate(options: GenerateOptions): Promise<PublicKey> {
    const { role, gun } = normaliseRoleAndGun(options.role, options.gun);
    return this.#add(await generatePrivateKey(options.algorithm, options.rsaBits), role, gun);
  }

  async importPem(pem: string | Buffer, options: ImportOptions = {}): Promise<PublicKey> {
    const file = parseKeyFile(Buffer.isBuffer(pem) ? pem : Buffer.from(pem, 'utf8'), 'the imported key');
    const { role, gun } = importLabels(file, options);
    const { key } = await unlock(file, { keyName: 'import', role, ...(gun === undefined ? {} : { gun }), location: 'the imported key', ...(this.#retriever === undefined ? {} : { retriever: this.#retriever }) });
    assertKeyPairConsistent(key, 'the imported key');
    return this.#add(key, role, gun);
  }

  async exportPem(keyId: string, options: ExportOptions = {}): Promise<string> {
    const e = this.#get(keyId);
    if (options.unencrypted === true) return encodePlainKeyFile(e.key, e.role, e.gun);
    const passphrase = options.passphrase ?? (await newPassphrase(this.#retriever, keyId, e.role, e.gun));
    if (passphrase === '') throw new KeyStoreError('PASSPHRASE_REQUIRED', `an empty passphrase would export key ${keyId} unencrypted; pass unencrypted: true if that is meant`);
    return encodeEncryptedKeyFile(e.key, e.role, e.gun, passphrase);
  }

  async remove(keyId: string): Promise<void> {
    this.#get(keyId);
    this.#keys.delete(keyId);
  }

  /** Memory keys are not encrypted, so there is no passphrase to change; only checks the key exists. */
  async changePassphrase(keyId: string): Promise<void> {
    this.#get(keyId);
  }
}

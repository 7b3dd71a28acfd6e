// SPDX-License-Identifier: Apache-2.0
// KeyStore on a PKCS#11 token (YubiKey through ykcs11, SoftHSM2, a cloud
// HSM's module). Keys are ECDSA P-256, generated on the token with
// CKA_SENSITIVE and without CKA_EXTRACTABLE, and sign there: CKM_ECDSA over a
// SHA-256 digest gives the raw r‖s Notary's `ecdsa` method uses, and each
// signature is checked against the public key before it is handed out.
//
// Which keys go where (notary's rule, configurable): new and imported keys of
// `roles` (default: root) go on the token; other roles go to `delegate`, the
// trust_dir file store. With `backup`, a new token key is made in software
// instead, written encrypted to `delegate`, and then stored on the token: that
// key has existed outside the token, which is the price of a backup.
//
// A missing token (TOKEN_MISSING) lists as holding no keys, with a notice, so
// work that needs only file keys goes on (notary 0.7 falls back to its file
// store when no YubiKey is present). Anything that needs the token itself (a
// new or imported key of a token role, a signer for a key on it) fails with
// TOKEN_MISSING, unless `fallbackToDelegate`: then the store acts empty and
// new keys go to `delegate`.
// Private keys never leave the token: exportPem and changePassphrase refuse.

import { createPublicKey, verify } from 'node:crypto';
import { sha256 } from '../../shared/crypto/digest.js';
import { CryptoError, KeyStoreError, TokenError } from '../../shared/errors.js';
import type { PublicKey, Signature, Signer } from '../../shared/tuf/model.js';
import { encodePlainKeyFile, parseKeyFile } from '../key-file.js';
import { generatePrivateKey, importLabels, normaliseRoleAndGun, type GenerateOptions, type ImportOptions, type KeyInfo, type KeyStore } from '../key-store.js';
import type { PassphraseRetriever } from '../passphrase.js';
import { assertKeyPairConsistent, unlock } from '../unlock.js';
import { CK } from './binding.js';
import { destroyKey, generateOnToken, privateKeyHandle, readTokenKeys, storeOnToken, type TokenKey } from './token-objects.js';
import type { TokenSession } from './token-session.js';

export interface Pkcs11TokenStoreOptions {
  readonly session: TokenSession;
  /** Roles whose new and imported keys go on the token. Default: root. */
  readonly roles?: readonly string[];
  /** Where keys of other roles, backups and (with fallbackToDelegate) everything go. */
  readonly delegate?: KeyStore;
  /** Generate new token keys in software and back them up, encrypted, to `delegate` first. */
  readonly backup?: boolean;
  /** The user asked to use `delegate` alone when the token is missing. */
  readonly fallbackToDelegate?: boolean;
  /** Passphrases of encrypted PEM files being imported. */
  readonly retriever?: PassphraseRetriever;
  /** Say "touch the token" before each signature (YubiKeys with a touch policy). */
  readonly touchMessage?: boolean;
  /** Where notices go (touch, fallback); default stderr. */
  readonly notify?: (message: string) => void;
  readonly now?: () => Date;
}

export class Pkcs11TokenStore implements KeyStore {
  readonly session: TokenSession;
  readonly roles: ReadonlySet<string>;
  readonly #o: Pkcs11TokenStoreOptions;
  readonly #notify: (message: string) => void;
  #fallbackNoticeGiven = false;
  #absentNoticeGiven = false;
  #absence: TokenError | undefined;

  constructor(options: Pkcs11TokenStoreOptions) {
    this.#o = options;
    this.session = options.session;
    this.roles = new Set(options.roles ?? ['root']);
    this.#notify = options.notify ?? ((m) => void process.stderr.write(`${m}\n`));
  }

  /** `pkcs11:<label>`: the token's own label once it was found, else what SIGNET_PKCS11_TOKEN / _SLOT ask for. */
  get name(): string {
    return `pkcs11:${this.session.tokenName}`;
  }

  /**
   * Why the token's keys could not be listed the last time has() or list() looked (the token is
   * not present), else undefined. Then "key not found" may mean "key on the missing token".
   */
  unavailable(): TokenError | undefined {
    return this.#absence;
  }

  /** Runs `work`; with fallbackToDelegate, a missing token or module yields `absent()` instead. */
  async #present<T>(work: () => Promise<T>, absent: () => T | Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      const missing = err instanceof TokenError && (err.code === 'TOKEN_MISSING' || err.code === 'PKCS11_UNAVAILABLE');
      if (!missing || this.#o.fallbackToDelegate !== true) throw err;
      if (!this.#fallbackNoticeGiven) {
        this.#fallbackNoticeGiven = true;
        this.#notify(`Notice: token ${this.session.tokenName} is not available (${err.message}); using the file store, as the PKCS#11 fallback setting asks.`);
      }
      return absent();
    }
  }

  #delegate(what: string): KeyStore {
    if (this.#o.delegate === undefined) throw new KeyStoreError('KEY_ROLE_INVALID', `${what} cannot go on token ${this.session.tokenName} (it holds ${[...this.roles].join(', ')} keys) and there is no file store to put it in`);
    return this.#o.delegate;
  }

  /** Whether new keys are made in software and backed up to the file store. */
  get backsUp(): boolean {
    return this.#o.backup === true;
  }

  /** Whether the token is there (false only with fallbackToDelegate; else a missing token throws). */
  available(): Promise<boolean> {
    return this.#present(() => this.session.run(false, () => true), () => false);
  }

  /**
   * Signet's keys on the token, with role, GUN and creation time. A missing token throws
   * TOKEN_MISSING (unless fallbackToDelegate): signet-server must not take it for an empty one.
   */
  tokenKeys(): Promise<TokenKey[]> {
    return this.#present(() => this.session.run(false, (b, s) => readTokenKeys(b, s)), () => []);
  }

  /**
   * tokenKeys(), but a missing token (TOKEN_MISSING) holds no keys: said once on stderr and kept
   * for unavailable(), so key list and work with file keys alone go on without the token.
   */
  async #listedKeys(): Promise<TokenKey[]> {
    try {
      const keys = await this.tokenKeys();
      this.#absence = undefined;
      return keys;
    } catch (err) {
      if (!(err instanceof TokenError && err.code === 'TOKEN_MISSING')) throw err;
      this.#absence = err;
      if (!this.#absentNoticeGiven) {
        this.#absentNoticeGiven = true;
        this.#notify(`Notice: ${err.message}. Its keys are not available; going on with the key files.`);
      }
      return [];
    }
  }

  async list(): Promise<KeyInfo[]> {
    return (await this.#listedKeys()).map((k) => ({
      keyId: k.keyId,
      role: k.role,
      ...(k.gun === undefined ? {} : { gun: k.gun }),
      algorithm: k.publicKey.algorithm,
      location: this.name,
      ...(k.problem === undefined ? {} : { problem: k.problem }),
    }));
  }

  async has(keyId: string): Promise<boolean> {
    return (await this.#listedKeys()).some((k) => k.keyId === keyId && k.problem === undefined);
  }

  async getSigner(keyId: string, publicKey?: PublicKey): Promise<Signer> {
    const key = (await this.tokenKeys()).find((k) => k.keyId === keyId && k.problem === undefined);
    if (key === undefined) throw new TokenError('KEY_NOT_FOUND', `key ${keyId} is not on token ${this.session.tokenName}; see \`signet key list\``);
    return this.signerFor(key, publicKey);
  }

  /** A Signer for a key tokenKeys() listed (no second listing of the token). */
  signerFor(key: TokenKey, publicKey?: PublicKey): Signer {
    const { keyId } = key;
    const signAs = publicKey ?? key.publicKey;
    if (signAs.spki === null || key.publicKey.spki === null || !signAs.spki.equals(key.publicKey.spki)) {
      throw new CryptoError('INVALID_KEY', `public key ${signAs.id} is not the key ${keyId} held on token ${this.session.tokenName}; load the key that belongs to it`);
    }
    const verifyKey = createPublicKey({ key: key.publicKey.spki, format: 'der', type: 'spki' });
    const token = this.session.tokenName;
    return {
      publicKey: signAs,
      sign: async (data: Buffer): Promise<Signature> => {
        const digest = sha256(data);
        const sig = await this.session.run(true, (b, s) => {
          const handle = privateKeyHandle(b, s, keyId, token);
          if (this.#o.touchMessage === true) this.#notify(`Touch token ${token} to sign with key ${keyId.slice(0, 7)}…`);
          return b.sign(s, CK.CKM_ECDSA, handle, digest);
        });
        // SECURITY: hand out only signatures that verify under the key we claim (a swapped private object, a faulty token).
        if (sig.length !== 64 || !verify('sha256', data, { key: verifyKey, dsaEncoding: 'ieee-p1363' }, sig)) {
          throw new TokenError('TOKEN', `token ${token} returned a signature that does not verify with key ${keyId}; its private key object does not match the public key: remove the key and generate it again`);
        }
        return { keyId: signAs.id, method: 'ecdsa', sig };
      },
    };
  }

  async generate(options: GenerateOptions): Promise<PublicKey> {
    const { role, gun } = normaliseRoleAndGun(options.role, options.gun);
    if (!this.roles.has(role)) return this.#delegate(`a new ${role} key`).generate(options);
    if ((options.algorithm ?? 'ecdsa') !== 'ecdsa') {
      throw new CryptoError(
        'UNSUPPORTED_ALGORITHM',
        `tokens hold ECDSA P-256 keys only, ${options.algorithm ?? ''} was asked for; generate an ecdsa ${role} key, or keep ${role} keys in files: ` +
          `leave ${role} out of SIGNET_PKCS11_ROLES (pkcs11.roles in the config file; now ${[...this.roles].join(',')}) or unset SIGNET_PKCS11_MODULE for this command`,
      );
    }
    const label = { role, ...(gun === undefined ? {} : { gun }), createdAt: this.#now() };
    return this.#present(
      async () => {
        if (this.#o.backup !== true) return this.session.run(true, (b, s) => generateOnToken(b, s, label));
        return this.#generateWithBackup(label);
      },
      () => this.#delegate(`a new ${role} key`).generate(options),
    );
  }

  /** Notary's YubiKey flow: software key -> token, then encrypted backup; a failed backup removes the token copy. */
  async #generateWithBackup(label: { role: string; gun?: string; createdAt: Date }): Promise<PublicKey> {
    const backupStore = this.#delegate('a backup of the new key');
    const key = await generatePrivateKey('ecdsa');
    const pub = await this.session.run(true, (b, s) => storeOnToken(b, s, key, label));
    try {
      // In memory only: the file store encrypts it with a new passphrase before writing.
      await backupStore.importPem(encodePlainKeyFile(key, label.role, label.gun), { role: label.role, ...(label.gun === undefined ? {} : { gun: label.gun }) });
    } catch (err) {
      await this.session.run(true, (b, s) => destroyKey(b, s, pub.id));
      throw err;
    }
    return pub;
  }

  async importPem(pem: string | Buffer, options: ImportOptions = {}): Promise<PublicKey> {
    const where = 'the imported key';
    const file = parseKeyFile(Buffer.isBuffer(pem) ? pem : Buffer.from(pem, 'utf8'), where);
    const { role, gun } = importLabels(file, options);
    if (!this.roles.has(role)) return this.#delegate(`a ${role} key`).importPem(pem, options);
    const { key } = await unlock(file, { keyName: 'import', role, ...(gun === undefined ? {} : { gun }), location: where, ...(this.#o.retriever === undefined ? {} : { retriever: this.#o.retriever }) });
    assertKeyPairConsistent(key, where);
    const label = { role, ...(gun === undefined ? {} : { gun }), createdAt: this.#now() };
    return this.#present(
      () => this.session.run(true, (b, s) => storeOnToken(b, s, key, label)),
      () => this.#delegate(`a ${role} key`).importPem(pem, options),
    );
  }

  async exportPem(keyId: string): Promise<string> {
    throw new TokenError('TOKEN', `key ${keyId} lives on token ${this.session.tokenName} and cannot be exported: its private key never leaves the token. If it was generated with a backup, export that copy from the file store`);
  }

  async remove(keyId: string): Promise<void> {
    const removed = await this.session.run(true, (b, s) => destroyKey(b, s, keyId));
    if (removed === 0) throw new TokenError('KEY_NOT_FOUND', `key ${keyId} is not on token ${this.session.tokenName}; see \`signet key list\``);
  }

  async changePassphrase(keyId: string): Promise<void> {
    throw new TokenError('TOKEN', `key ${keyId} on token ${this.session.tokenName} has no passphrase: the token's user PIN protects it; change the PIN with the token's own tool`);
  }

  /** Logs out and closes the session (also done on process exit). */
  close(): Promise<void> {
    return this.session.close();
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }
}

// SPDX-License-Identifier: Apache-2.0
// Several key stores seen as one (Notary's cryptoservice.CryptoService): the
// first store holding a key wins, new keys go to the first store. Typical
// order: a hardware token, then the trust_dir files.

import { canonicalKeyId } from '../shared/codec/notary-keys.js';
import { KeyStoreError, type TrustError } from '../shared/errors.js';
import type { PublicKey, Signer } from '../shared/tuf/model.js';
import type { GenerateOptions, KeyInfo, KeyStore } from './key-store.js';

export class CryptoService {
  readonly stores: readonly KeyStore[];

  constructor(stores: readonly KeyStore[]) {
    if (stores.length === 0) throw new KeyStoreError('KEY_NOT_FOUND', 'a crypto service needs at least one key store');
    this.stores = [...stores];
  }

  async #storeFor(keyId: string): Promise<KeyStore | undefined> {
    for (const s of this.stores) if (await s.has(keyId)) return s;
    return undefined;
  }

  async has(keyId: string): Promise<boolean> {
    return (await this.#storeFor(keyId)) !== undefined;
  }

  /**
   * The signer for a canonical key ID (optionally under `publicKey`, see KeyStore.getSigner).
   * @throws {KeyStoreError} KEY_NOT_FOUND when no store holds it; the code of unavailable()'s
   *   error (TOKEN_MISSING) when a store that may hold it could not be looked in.
   */
  async getSigner(keyId: string, publicKey?: PublicKey): Promise<Signer> {
    const store = await this.#storeFor(keyId);
    if (store === undefined) {
      const looked = this.stores.map((s) => s.name).join(', ');
      const why = this.unavailable();
      if (why !== undefined) throw new KeyStoreError(why.code, `key ${keyId} is in none of the key stores that could be read (${looked}); it may be on the missing one: ${why.message}`, { cause: why });
      throw new KeyStoreError('KEY_NOT_FOUND', `no key store holds key ${keyId} (looked in ${looked})`);
    }
    return store.getSigner(keyId, publicKey);
  }

  /** Why a store could not be looked in the last time (a token that is not present), else undefined. */
  unavailable(): TrustError | undefined {
    for (const s of this.stores) {
      const why = s.unavailable?.();
      if (why !== undefined) return why;
    }
    return undefined;
  }

  /** Signers for those of `keys` we hold (by canonical ID), signing under each key's own ID. */
  async signersFor(keys: readonly PublicKey[]): Promise<Signer[]> {
    const out: Signer[] = [];
    for (const k of keys) {
      const keyId = canonicalKeyId(k);
      if (await this.has(keyId)) out.push(await this.getSigner(keyId, k));
    }
    return out;
  }

  /** Generates a key in the first store. */
  async create(options: GenerateOptions): Promise<PublicKey> {
    return this.stores[0]!.generate(options);
  }

  /** Keys of all stores; a key in several stores is listed once, from the first. */
  async list(): Promise<KeyInfo[]> {
    const seen = new Set<string>();
    const out: KeyInfo[] = [];
    for (const s of this.stores) {
      for (const info of await s.list()) {
        if (seen.has(info.keyId)) continue;
        seen.add(info.keyId);
        out.push(info);
      }
    }
    return out;
  }

  /** Removes the key from every store that holds it. */
  async remove(keyId: string): Promise<void> {
    let removed = false;
    for (const s of this.stores) {
      if (await s.has(keyId)) {
        await s.remove(keyId);
        removed = true;
      }
    }
    if (!removed) throw new KeyStoreError('KEY_NOT_FOUND', `no key store holds key ${keyId}`);
  }
}

// SPDX-License-Identifier: Apache-2.0
// ServerSigner whose keys live in the MetaStore's server-key table, each
// private key sealed with key-encryption.ts (scrypt -> AES-256-GCM, bound to
// its GUN, role and key ID). The store only ever receives ciphertext.
// Decrypted keys are cached in memory for the life of the process (like
// notary's signer) so a timestamp signature does not pay the scrypt cost.
// Another server on the same database may delete a cached key's row (DELETE
// of the GUN): updates signed here name their keys (keysInStore), and the
// store commits them only while the rows exist (migration 0004).

import { generateKeyPairSync, createPrivateKey, type KeyObject } from 'node:crypto';
import { createKeyObjectSigner } from '../../shared/crypto/sign.js';
import { KeyStoreError } from '../../shared/errors.js';
import { makeNotaryPublicKey, publicKeyFromKeyObject, notaryKeyId } from '../../shared/codec/notary-keys.js';
import type { PublicKey, Signer } from '../../shared/tuf/model.js';
import type { MetaStore, ServerKeyRecord } from '../storage/meta-store.js';
import { DEFAULT_KDF, openServerKey, sealServerKey, type KdfParams } from './key-encryption.js';
import type { HeldKey, ServerKeyAlgorithm, ServerRole, ServerSigner } from './server-signer.js';

export interface StoreSignerOptions {
  readonly store: MetaStore;
  /** Encryption passphrase for keys at rest (SIGNET_SIGNER_KEY_PASSPHRASE). Must not be empty. */
  readonly passphrase: string;
  /** Algorithm of new keys; default ed25519. */
  readonly algorithm?: ServerKeyAlgorithm;
  /** scrypt cost for newly sealed keys (existing keys carry their own). */
  readonly kdf?: KdfParams;
}

function generate(algorithm: ServerKeyAlgorithm): KeyObject {
  return algorithm === 'ed25519' ? generateKeyPairSync('ed25519').privateKey : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

function toPublicKey(r: ServerKeyRecord): PublicKey {
  // Rebuilt through the codec, so the ID is recomputed from the public value rather than read from the row.
  return makeNotaryPublicKey(r.keyType, r.publicValue);
}

/** ServerSigner over the MetaStore's encrypted key rows. */
export function createStoreSigner(options: StoreSignerOptions): ServerSigner {
  const { store, passphrase } = options;
  const algorithm = options.algorithm ?? 'ed25519';
  const kdf = options.kdf ?? DEFAULT_KDF;
  if (passphrase.length === 0) {
    throw new KeyStoreError('PASSPHRASE_REQUIRED', 'server keys need an encryption passphrase: set SIGNET_SIGNER_KEY_PASSPHRASE');
  }
  const cache = new Map<string, Signer>();
  const cacheKey = (gun: string, role: string, keyId: string): string => `${gun}\0${role}\0${keyId}`;

  return {
    keysInStore: true,
    async listKeys(gun: string, role: ServerRole): Promise<HeldKey[]> {
      const records = await store.getServerKeys(gun, role);
      return records.map((r) => ({ publicKey: toPublicKey(r), createdAt: r.createdAt }));
    },

    async createKey(gun: string, role: ServerRole): Promise<PublicKey> {
      const privateKey = generate(algorithm);
      const publicKey = publicKeyFromKeyObject(privateKey);
      const der = privateKey.export({ format: 'der', type: 'pkcs8' });
      let sealed: Buffer;
      try {
        sealed = await sealServerKey(der, passphrase, { gun, role, keyId: publicKey.id }, kdf);
      } finally {
        der.fill(0);
      }
      await store.addServerKey({ gun, role, keyId: publicKey.id, keyType: publicKey.keyType, publicValue: publicKey.publicValue, encryptedPrivate: sealed });
      cache.set(cacheKey(gun, role, publicKey.id), createKeyObjectSigner(privateKey, publicKey));
      return publicKey;
    },

    async forgetKeys(gun: string): Promise<void> {
      // the rows went with the GUN's metadata (MetaStore.deleteGun); the decrypted copies go here
      for (const k of [...cache.keys()]) if (k.startsWith(`${gun}\0`)) cache.delete(k);
    },

    async getSigner(gun: string, role: ServerRole, keyId: string): Promise<Signer | null> {
      const cached = cache.get(cacheKey(gun, role, keyId));
      if (cached !== undefined) return cached;
      const record = (await store.getServerKeys(gun, role)).find((r) => r.keyId === keyId);
      if (record === undefined) return null;
      // SECURITY: the row's key ID must be the hash of its public value, and the decrypted
      // private key must match it, so an edited row cannot make us sign under a foreign ID.
      if (notaryKeyId(record.keyType, record.publicValue) !== keyId) {
        throw new KeyStoreError('KEY_FILE_INVALID', `server ${role} key ${keyId} of ${gun}: the stored public key does not hash to its key ID; the key row was altered`);
      }
      const der = await openServerKey(record.encryptedPrivate, passphrase, { gun, role, keyId });
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      } catch (cause) {
        throw new KeyStoreError('KEY_FILE_INVALID', `server ${role} key ${keyId} of ${gun} decrypted to something that is not a private key`, { cause });
      } finally {
        der.fill(0);
      }
      const publicKey = publicKeyFromKeyObject(privateKey);
      if (publicKey.id !== keyId) {
        throw new KeyStoreError('KEY_FILE_INVALID', `server ${role} key ${keyId} of ${gun}: the private key does not match the stored public key`);
      }
      const signer = createKeyObjectSigner(privateKey, publicKey);
      cache.set(cacheKey(gun, role, keyId), signer);
      return signer;
    },
  };
}

/**
 * Refuse a signer passphrase that does not open the keys already stored (one scrypt at startup).
 * Started with a wrong one, the server would fail every publish of the existing repositories and
 * seal new keys that the right passphrase could not open again.
 * @throws {KeyStoreError} PASSPHRASE_WRONG naming the variable, or the stored key's own problem.
 */
export async function checkSignerPassphrase(store: MetaStore, passphrase: string): Promise<void> {
  const newest = await store.newestServerKey();
  if (newest === null) return;
  try {
    (await openServerKey(newest.encryptedPrivate, passphrase, { gun: newest.gun, role: newest.role, keyId: newest.keyId })).fill(0);
  } catch (e) {
    if (e instanceof KeyStoreError && e.code === 'PASSPHRASE_WRONG') {
      throw new KeyStoreError('PASSPHRASE_WRONG', `SIGNET_SIGNER_KEY_PASSPHRASE does not open the server keys already stored (the ${newest.role} key of ${newest.gun}); start with the passphrase they were sealed with`, { cause: e });
    }
    throw e;
  }
}

// SPDX-License-Identifier: Apache-2.0
// ServerSigner whose timestamp and snapshot keys live on a PKCS#11 token
// (signet-server --pkcs11-module ...) instead of encrypted database rows.
// Keys are ECDSA P-256 made on the token, labelled with role, GUN and
// creation time (keys/pkcs11/key-label.ts), so listing them needs no database
// and the token alone says which keys exist; the private keys never leave it.
// The token store runs one operation at a time, which also serialises
// signatures across GUNs; server-keys.ts still orders key creation per GUN.

import type { PublicKey, Signer } from '../../shared/tuf/model.js';
import { openServerTokenStore, type Pkcs11TokenStore, type ServerTokenSettings, type TokenKey } from '../../keys/pkcs11/index.js';
import type { HeldKey, ServerRole, ServerSigner } from './server-signer.js';

export interface Pkcs11Signer extends ServerSigner {
  /** The token store's name (`pkcs11:<label>`), for logs. */
  readonly location: string;
  /** Logs out and closes the token session. */
  close(): Promise<void>;
}

/** A ServerSigner over an open token store (see openPkcs11Signer for the usual way in). */
export function createPkcs11Signer(store: Pkcs11TokenStore): Pkcs11Signer {
  // SECURITY: only a usable key labelled for this GUN and role is listed or signs for it.
  const labelledFor = (k: TokenKey, gun: string, role: ServerRole): boolean => k.role === role && k.gun === gun && k.problem === undefined;
  async function held(gun: string, role: ServerRole): Promise<HeldKey[]> {
    const keys = (await store.tokenKeys()).filter((k) => labelledFor(k, gun, role));
    keys.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.keyId < b.keyId ? -1 : 1));
    return keys.map((k) => ({ publicKey: k.publicKey, createdAt: k.createdAt }));
  }
  return {
    location: store.name,
    keysInStore: false,
    listKeys: held,
    async createKey(gun: string, role: ServerRole): Promise<PublicKey> {
      return store.generate({ role, gun, algorithm: 'ecdsa' });
    },
    async getSigner(gun: string, role: ServerRole, keyId: string): Promise<Signer | null> {
      // One listing of the token, not one to check the label and another to find the key.
      const key = (await store.tokenKeys()).find((k) => labelledFor(k, gun, role) && k.publicKey.id === keyId && k.keyId === keyId);
      return key === undefined ? null : store.signerFor(key);
    },
    async forgetKeys(gun: string): Promise<void> {
      for (const k of await store.tokenKeys()) if (k.gun === gun && (k.role === 'timestamp' || k.role === 'snapshot')) await store.remove(k.keyId);
    },
    close: () => store.close(),
  };
}

/**
 * Opens the token and logs in (failing at startup, not at the first publish).
 * @throws {TokenError} PKCS11_UNAVAILABLE, TOKEN_MISSING, TOKEN_LOCKED, PASSPHRASE_REQUIRED / PASSPHRASE_WRONG.
 */
export async function openPkcs11Signer(settings: ServerTokenSettings): Promise<Pkcs11Signer> {
  return createPkcs11Signer(await openServerTokenStore(settings));
}

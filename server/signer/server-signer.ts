// SPDX-License-Identifier: Apache-2.0
// What the trust domain needs from whatever holds the server's private keys
// (timestamp and, when delegated to the server, snapshot). The database-backed
// implementation is store-signer.ts; a PKCS#11-backed one can implement the
// same interface (issue 5). No method returns private key material: callers
// get a Signer that keeps the key inside.

import type { PublicKey, Signer } from '../../shared/tuf/model.js';

export type ServerRole = 'timestamp' | 'snapshot';
export const SERVER_ROLES: readonly ServerRole[] = ['timestamp', 'snapshot'];

/** Algorithm of newly created keys. ed25519 (`eddsa` signatures) is what notary's local signer uses. */
export type ServerKeyAlgorithm = 'ed25519' | 'ecdsa';

export interface HeldKey {
  readonly publicKey: PublicKey;
  readonly createdAt: Date;
}

export interface ServerSigner {
  /**
   * The keys are rows of the MetaStore (store-signer.ts). A signer may keep them decrypted while
   * another server on the same database deletes the rows, so an update signed with one is stored
   * only while its row still is (UpdateOptions.serverKeys). False for keys held elsewhere (a token).
   */
  readonly keysInStore: boolean;
  /** Keys this signer holds for the GUN and role, oldest first. */
  listKeys(gun: string, role: ServerRole): Promise<HeldKey[]>;
  /** Create and persist a new key; it is returned by `listKeys` from then on. */
  createKey(gun: string, role: ServerRole): Promise<PublicKey>;
  /** A signer for a held key, or null when this signer does not hold `keyId` for the GUN and role. */
  getSigner(gun: string, role: ServerRole, keyId: string): Promise<Signer | null>;
  /**
   * Drop every key of a deleted GUN (its keys must not serve the GUN created again). Keys kept in
   * the MetaStore are deleted with the GUN's metadata; this clears what the signer holds itself.
   */
  forgetKeys(gun: string): Promise<void>;
}

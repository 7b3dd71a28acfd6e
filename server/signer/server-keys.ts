// SPDX-License-Identifier: Apache-2.0
// Which server key is active for a GUN and role (notary's GetOrCreate*Key and
// Rotate*Key), on top of any ServerSigner:
//   - a key listed for the role in the current root that the signer holds wins;
//   - otherwise the newest held key (so `POST <role>.key` followed by
//     `GET <role>.key` agree before the root lists it);
//   - otherwise a new key is created. Unlike notary, which creates a key on
//     every such call, repeated and concurrent calls converge on one key.
// Race safety: calls for one GUN/role are serialised in this process, and
// after creating a key the list is read again and its newest key returned,
// so callers that raced across processes agree once both rows are committed.

import { KeyStoreError } from '../../shared/errors.js';
import type { PublicKey, Signer } from '../../shared/tuf/model.js';
import type { ServerRole, ServerSigner } from './server-signer.js';
import { createKeyedQueue } from '../keyed-queue.js';

export interface ServerKeys {
  /** ServerSigner.keysInStore of the signer underneath. */
  readonly keysInStore: boolean;
  /**
   * The active key for the role. `rootKeyIds` are the key IDs the current root lists for the role
   * (empty when there is no root yet).
   */
  getOrCreateKey(gun: string, role: ServerRole, rootKeyIds: readonly string[]): Promise<PublicKey>;
  /** Always a new key; it becomes the one used for signing once a root listing it is published. */
  rotateKey(gun: string, role: ServerRole): Promise<PublicKey>;
  /**
   * A signer for the first of `rootKeyIds` the server holds and can use, or null when it holds none of them.
   * @throws {KeyStoreError} the first key's failure, when keys are held but none can be used.
   */
  signerFor(gun: string, role: ServerRole, rootKeyIds: readonly string[]): Promise<Signer | null>;
  /** Drop the keys of a deleted GUN (ServerSigner.forgetKeys), after any key work under way for it. */
  forget(gun: string): Promise<void>;
}

export function createServerKeys(signer: ServerSigner): ServerKeys {
  // Serialise work per GUN/role.
  const queue = createKeyedQueue();
  const serialised = <T>(gun: string, role: ServerRole, work: () => Promise<T>): Promise<T> => queue(`${gun}\0${role}`, work);

  async function heldListed(gun: string, role: ServerRole, rootKeyIds: readonly string[]): Promise<PublicKey | null> {
    if (rootKeyIds.length === 0) return null;
    const held = await signer.listKeys(gun, role);
    for (const id of rootKeyIds) {
      const key = held.find((h) => h.publicKey.id === id);
      if (key !== undefined) return key.publicKey;
    }
    return null;
  }

  async function newest(gun: string, role: ServerRole): Promise<PublicKey | null> {
    const held = await signer.listKeys(gun, role);
    return held.at(-1)?.publicKey ?? null;
  }

  return {
    keysInStore: signer.keysInStore,
    getOrCreateKey(gun, role, rootKeyIds) {
      return serialised(gun, role, async () => {
        const listed = await heldListed(gun, role, rootKeyIds);
        if (listed !== null) return listed;
        const existing = await newest(gun, role);
        if (existing !== null) return existing;
        const created = await signer.createKey(gun, role);
        // Another server may have created one at the same moment: answer what the store now says.
        return (await newest(gun, role)) ?? created;
      });
    },

    rotateKey(gun, role) {
      return serialised(gun, role, () => signer.createKey(gun, role));
    },

    forget(gun) {
      return serialised(gun, 'timestamp', () => serialised(gun, 'snapshot', () => signer.forgetKeys(gun)));
    },

    async signerFor(gun, role, rootKeyIds) {
      // One key that cannot be used (a damaged row, a token object gone) must not hide the others root lists.
      let failure: KeyStoreError | undefined;
      for (const id of rootKeyIds) {
        try {
          const s = await signer.getSigner(gun, role, id);
          if (s !== null) return s;
        } catch (error) {
          if (!(error instanceof KeyStoreError)) throw error;
          failure ??= error;
        }
      }
      if (failure !== undefined) throw failure;
      return null;
    },
  };
}

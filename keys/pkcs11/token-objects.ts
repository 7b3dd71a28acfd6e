// SPDX-License-Identifier: Apache-2.0
// Signet's key objects on a token, at the level of PKCS#11 calls within one
// open session: read the key list from the public key objects, find a
// private key by CKA_ID, generate a key pair on the token, store an existing
// key, delete a key. The session and login are the caller's (token-store.ts).

import { randomBytes, type KeyObject } from 'node:crypto';
import { publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { TokenError } from '../../shared/errors.js';
import type { PublicKey } from '../../shared/tuf/model.js';
import { CK, type Handle, type Pkcs11Binding } from './binding.js';
import { decodeEcPoint, p256Parts, privateTemplate, publicKeyFromPoint, publicTemplate, type KeyLabels } from './ec-key.js';
import { formatKeyLabel, parseKeyLabel, type KeyLabel } from './key-label.js';
import { KEY_ID_RE } from '../trust-dir.js';

export interface TokenKey extends KeyLabel {
  /** Canonical key ID (the CKA_ID), as `key list` shows it. */
  readonly keyId: string;
  readonly publicKey: PublicKey;
  /** Set when the objects under this CKA_ID are unusable; says why. */
  readonly problem?: string;
}

/** The attributes of `obj`, or undefined when another session (process) deleted it after it was found. */
function attributesIfStillThere(b: Pkcs11Binding, s: Handle, obj: Handle, types: readonly number[]): Buffer[] | undefined {
  try {
    return b.attributes(s, obj, types);
  } catch (err) {
    if (err instanceof TokenError && err.ckr === 'CKR_OBJECT_HANDLE_INVALID') return undefined;
    throw err;
  }
}

/**
 * Every Signet key on the token, from its public key objects (readable without a login). A key
 * removed by another process between the search and the reading of its attributes is left out.
 */
export function readTokenKeys(b: Pkcs11Binding, s: Handle): TokenKey[] {
  const out: TokenKey[] = [];
  for (const obj of b.findObjects(s, [{ type: CK.CKA_CLASS, value: CK.CKO_PUBLIC_KEY }, { type: CK.CKA_KEY_TYPE, value: CK.CKK_EC }, { type: CK.CKA_TOKEN, value: true }])) {
    const attrs = attributesIfStillThere(b, s, obj, [CK.CKA_ID, CK.CKA_LABEL, CK.CKA_EC_POINT]);
    if (attrs === undefined) continue; // deleted meanwhile
    const [id, labelBytes, point] = attrs as [Buffer, Buffer, Buffer];
    const label = parseKeyLabel(labelBytes.toString('utf8'));
    if (label === null) continue; // not Signet's
    const keyId = id.toString('hex');
    let publicKey: PublicKey;
    try {
      publicKey = publicKeyFromPoint(decodeEcPoint(point));
    } catch (err) {
      out.push({ ...label, keyId, publicKey: { id: keyId, algorithm: 'unknown', keyType: 'ecdsa', publicValue: '', spki: null, certificates: [] }, problem: err instanceof Error ? err.message : 'unreadable public key' });
      continue;
    }
    // SECURITY: the ID must be the hash of the public key, or we would sign under a foreign ID.
    const problem = publicKey.id === keyId ? undefined : `its CKA_ID ${keyId || '(empty)'} is not the ID of its public key (${publicKey.id}); the object was altered or not written by Signet, remove it`;
    out.push({ ...label, keyId: KEY_ID_RE.test(keyId) ? keyId : publicKey.id, publicKey, ...(problem === undefined ? {} : { problem }) });
  }
  return out;
}

function objectsWithId(b: Pkcs11Binding, s: Handle, keyId: string, cls?: number): Handle[] {
  return b.findObjects(s, [...(cls === undefined ? [] : [{ type: CK.CKA_CLASS, value: cls }]), { type: CK.CKA_TOKEN, value: true }, { type: CK.CKA_ID, value: Buffer.from(keyId, 'hex') }]);
}

/**
 * The private key object of `keyId` (needs a logged-in session).
 * @throws {TokenError} KEY_NOT_FOUND when there is none, TOKEN when there are several.
 */
export function privateKeyHandle(b: Pkcs11Binding, s: Handle, keyId: string, token: string): Handle {
  const found = objectsWithId(b, s, keyId, CK.CKO_PRIVATE_KEY);
  if (found.length === 0) throw new TokenError('KEY_NOT_FOUND', `token ${token} lists key ${keyId} but holds no private key for it; remove the key (signet key remove ${keyId}) and import or generate it again`);
  if (found.length > 1) throw new TokenError('TOKEN', `token ${token} holds ${found.length} private keys with ID ${keyId}; remove the duplicates with the token's tool`);
  return found[0]!;
}

/** Deletes every object (private, public, certificate) stored under `keyId`; returns how many. */
export function destroyKey(b: Pkcs11Binding, s: Handle, keyId: string): number {
  const found = objectsWithId(b, s, keyId);
  for (const o of found) b.destroyObject(s, o);
  return found.length;
}

function labels(keyId: string, label: KeyLabel): KeyLabels {
  return { keyId, label: formatKeyLabel(label) };
}

/**
 * A new P-256 key pair made on the token; the private key never exists outside it.
 * The key ID is known only after generation, so both objects are made under a
 * random placeholder CKA_ID and then given the real one (CKA_ID is modifiable).
 */
export async function generateOnToken(b: Pkcs11Binding, s: Handle, label: KeyLabel): Promise<PublicKey> {
  const placeholder = labels(randomBytes(32).toString('hex'), label);
  const pair = await b.generateKeyPair(s, CK.CKM_EC_KEY_PAIR_GEN, publicTemplate(placeholder), privateTemplate(placeholder));
  try {
    const [point] = b.attributes(s, pair.publicKey, [CK.CKA_EC_POINT]) as [Buffer];
    const publicKey = publicKeyFromPoint(decodeEcPoint(point));
    const id = [{ type: CK.CKA_ID, value: Buffer.from(publicKey.id, 'hex') }];
    b.setAttributes(s, pair.privateKey, id);
    b.setAttributes(s, pair.publicKey, id);
    return publicKey;
  } catch (err) {
    for (const o of [pair.privateKey, pair.publicKey]) {
      try {
        b.destroyObject(s, o);
      } catch {
        // report the first failure, not the clean-up's
      }
    }
    throw err;
  }
}

/**
 * Stores an existing P-256 key on the token as a sensitive, non-extractable
 * object (plus its public key object). Already there: nothing is written.
 * @throws {CryptoError} UNSUPPORTED_ALGORITHM for keys other than P-256.
 */
export function storeOnToken(b: Pkcs11Binding, s: Handle, key: KeyObject, label: KeyLabel): PublicKey {
  const publicKey = publicKeyFromKeyObject(key);
  const { d, point } = p256Parts(key);
  try {
    if (objectsWithId(b, s, publicKey.id).length > 0) return publicKey; // as notary: adding a key twice is a no-op
    const l = labels(publicKey.id, label);
    const priv = b.createObject(s, privateTemplate(l, d));
    try {
      b.createObject(s, publicTemplate(l, point));
    } catch (err) {
      b.destroyObject(s, priv);
      throw err;
    }
    return publicKey;
  } finally {
    d.fill(0);
  }
}

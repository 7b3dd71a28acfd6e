// SPDX-License-Identifier: Apache-2.0
// Steps every store shares between "bytes of a key file" and "a Signer":
// asking the retriever for passphrases (bounded attempts), checking that the
// key is what its file name says and that its halves belong together, and
// wrapping it in shared/crypto's signer so the KeyObject stays in a closure.

import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { publicKeyFromKeyObject } from '../shared/codec/notary-keys.js';
import { createKeyObjectSigner } from '../shared/crypto/sign.js';
import { KeyStoreError } from '../shared/errors.js';
import type { PublicKey, Signer } from '../shared/tuf/model.js';
import { isEncrypted, unlockKeyFile, type KeyFile } from './key-file.js';
import { MAX_PASSPHRASE_ATTEMPTS, type PassphraseRetriever } from './passphrase.js';

export interface UnlockContext {
  readonly keyName: string;
  readonly role: string;
  readonly gun?: string;
  readonly location: string;
  readonly retriever?: PassphraseRetriever;
}

export interface Unlocked {
  readonly key: KeyObject;
  /** The passphrase that opened the file; undefined for unencrypted input. */
  readonly passphrase?: string;
}

/**
 * Decrypts `file`, asking the retriever up to MAX_PASSPHRASE_ATTEMPTS times.
 * @throws {KeyStoreError} PASSPHRASE_WRONG after the last attempt; PASSPHRASE_REQUIRED
 *   (or whatever the retriever throws) when no passphrase can be had.
 */
export async function unlock(file: KeyFile, ctx: UnlockContext): Promise<Unlocked> {
  if (!isEncrypted(file)) return { key: unlockKeyFile(file, '', ctx.location)! };
  if (ctx.retriever === undefined) {
    throw new KeyStoreError('PASSPHRASE_REQUIRED', `${ctx.location} is encrypted and this store has no passphrase source; configure a passphrase retriever`);
  }
  for (let attempt = 0; attempt < MAX_PASSPHRASE_ATTEMPTS; attempt++) {
    const passphrase = await ctx.retriever({ keyName: ctx.keyName, role: ctx.role, ...(ctx.gun === undefined ? {} : { gun: ctx.gun }), createNew: false, attempt });
    const key = unlockKeyFile(file, passphrase, ctx.location);
    if (key !== null) return { key, passphrase };
  }
  throw new KeyStoreError('PASSPHRASE_WRONG', `wrong passphrase for ${ctx.location} (${ctx.role || 'no role'} key) after ${MAX_PASSPHRASE_ATTEMPTS} attempts; check the passphrase and try again`);
}

/**
 * A new passphrase from the retriever. SECURITY: an empty one is refused,
 * because Notary would then write the key unencrypted.
 */
export async function newPassphrase(retriever: PassphraseRetriever | undefined, keyName: string, role: string, gun?: string): Promise<string> {
  if (retriever === undefined) throw new KeyStoreError('PASSPHRASE_REQUIRED', `a passphrase is needed to encrypt the ${role} key ${keyName}; configure a passphrase retriever`);
  const pass = await retriever({ keyName, role, ...(gun === undefined ? {} : { gun }), createNew: true, attempt: 0 });
  if (pass === '') throw new KeyStoreError('PASSPHRASE_REQUIRED', `an empty passphrase would leave the ${role} key ${keyName} unencrypted; choose a non-empty passphrase`);
  return pass;
}

const PROBE = Buffer.from('signet key pair consistency probe');

/**
 * SECURITY: a PKCS#8/SEC1 file can pair a private scalar with somebody
 * else's public key (OpenSSL does not check); the file would then carry that
 * key's ID while producing signatures nobody can verify. One probe signature
 * catches it when the key is loaded.
 * @throws {KeyStoreError} KEY_FILE_INVALID
 */
export function assertKeyPairConsistent(key: KeyObject, location: string): void {
  const pub = createPublicKey(key);
  let ok = false;
  try {
    if (key.asymmetricKeyType === 'ed25519') ok = verify(null, PROBE, pub, sign(null, PROBE, key));
    else ok = verify('sha256', PROBE, pub, sign('sha256', PROBE, key));
  } catch {
    ok = false;
  }
  if (!ok) throw new KeyStoreError('KEY_FILE_INVALID', `${location} holds a private key whose public half does not match it; the file is corrupt or tampered with, restore it from a backup`);
}

/**
 * Checks that the unlocked key is the one its name promises.
 * @throws {KeyStoreError} KEY_FILE_INVALID
 */
export function assertKeyId(key: KeyObject, keyId: string, location: string): PublicKey {
  const pub = publicKeyFromKeyObject(key);
  if (pub.id !== keyId) {
    throw new KeyStoreError('KEY_FILE_INVALID', `${location} holds key ${pub.id}, not ${keyId}; rename the file to ${pub.id}.key or re-import the key`);
  }
  return pub;
}

/**
 * A signer over `key`: under `publicKey` when given (which must be the same
 * key, e.g. the root certificate of this root key), else under its plain key.
 * @throws {CryptoError} INVALID_KEY when `publicKey` is a different key.
 */
export function signerFor(key: KeyObject, publicKey?: PublicKey): Signer {
  // createKeyObjectSigner refuses a publicKey whose SPKI is not the private key's.
  return createKeyObjectSigner(key, publicKey ?? publicKeyFromKeyObject(key));
}

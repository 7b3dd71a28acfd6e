// SPDX-License-Identifier: Apache-2.0
// Signing with an in-memory node:crypto private key. The key stays inside the
// returned Signer's closure; nothing here exports, logs or returns it.
// Notary's choice of method per key algorithm (cryptoservice, signed/sign.go):
//   ecdsa -> `ecdsa` (raw r‖s over SHA-256), ed25519 -> `eddsa`, rsa -> `rsapss` (salt 32).
// The Signature's keyId is `publicKey.id`, so a root key whose public half is
// a certificate signs under the certificate's TUF ID, as notary does.

import { createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { canonicalKeyId, publicKeyFromKeyObject } from '../codec/notary-keys.js';
import { CryptoError } from '../errors.js';
import type { KeyAlgorithm, PublicKey, Signature, Signer } from '../tuf/model.js';
import { prepareKey } from './key-object.js';
import { getScheme, schemeAcceptsKey, signOptions } from './schemes.js';

const NOTARY_METHOD: Readonly<Record<KeyAlgorithm, string | undefined>> = Object.freeze({
  ecdsa: 'ecdsa',
  ed25519: 'eddsa',
  rsa: 'rsapss',
  unknown: undefined,
});

/**
 * The Notary signature method used for keys of `algorithm`.
 * @throws {CryptoError} UNSUPPORTED_ALGORITHM for `unknown`.
 */
export function methodFor(algorithm: KeyAlgorithm): string {
  const method = NOTARY_METHOD[algorithm];
  if (method === undefined) throw new CryptoError('UNSUPPORTED_ALGORITHM', `no signature method for key algorithm ${algorithm}; use an ecdsa, ed25519 or rsa key`);
  return method;
}

export interface KeyObjectSignerOptions {
  /** Scheme to sign with; default the key's TUF 1.0 `scheme`, else `methodFor(publicKey.algorithm)`. */
  readonly method?: string;
}

function signAsync(hash: string | null, data: Buffer, options: Parameters<typeof cryptoSign>[2]): Promise<Buffer> {
  // The callback form runs in libuv's thread pool, so RSA signing does not block the event loop.
  return new Promise((resolve, reject) => {
    cryptoSign(hash, data, options, (err, sig) => (err === null ? resolve(sig) : reject(err)));
  });
}

/**
 * A Signer over an in-memory private key. The private key must be the
 * private half of `publicKey` (for certificate keys: of the certificate's key).
 * @throws {CryptoError} INVALID_KEY when `privateKey` is not a private key or does
 *   not match `publicKey` (the message names both key IDs);
 *   UNSUPPORTED_ALGORITHM when the method cannot sign with this key.
 */
export function createKeyObjectSigner(privateKey: KeyObject, publicKey: PublicKey, options: KeyObjectSignerOptions = {}): Signer {
  if (privateKey.type !== 'private') {
    throw new CryptoError('INVALID_KEY', `signer for key ${publicKey.id} needs a private key, got a ${privateKey.type} key`);
  }
  const ownSpki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  if (publicKey.spki === null || !ownSpki.equals(publicKey.spki)) {
    let privateId = 'of unsupported type';
    try {
      privateId = canonicalKeyId(publicKeyFromKeyObject(privateKey));
    } catch {
      // keep the generic description: the mismatch is the error to report
    }
    throw new CryptoError(
      'INVALID_KEY',
      `private key ${privateId} does not match public key ${publicKey.id} (canonical ID ${canonicalKeyId(publicKey)}); load the private key that belongs to this public key`,
    );
  }
  const method = options.method ?? publicKey.scheme ?? methodFor(publicKey.algorithm);
  const scheme = getScheme(method);
  const prepared = prepareKey(publicKey);
  if (scheme === undefined || !scheme.signable) {
    throw new CryptoError('UNSUPPORTED_ALGORITHM', `cannot sign with method ${JSON.stringify(method)}; use ${methodFor(publicKey.algorithm)}`);
  }
  if (prepared === null) {
    throw new CryptoError('INVALID_KEY', `key ${publicKey.id} cannot be used for signatures (RSA keys need at least 2048 bits; EC keys a NIST P-curve)`);
  }
  if (!schemeAcceptsKey(scheme, publicKey, prepared)) {
    throw new CryptoError('UNSUPPORTED_ALGORITHM', `method ${method} does not apply to ${publicKey.keyType} key ${publicKey.id}`);
  }
  const cryptoOptions = signOptions(scheme, privateKey);
  const keyId = publicKey.id;
  return {
    publicKey,
    async sign(data: Buffer): Promise<Signature> {
      try {
        const sig = await signAsync(scheme.hash, data, cryptoOptions);
        return { keyId, method: scheme.name, sig };
      } catch (cause) {
        throw new CryptoError('SIGNING_FAILED', `signing with key ${keyId} (${scheme.name}) failed`, { cause });
      }
    },
  };
}

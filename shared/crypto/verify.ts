// SPDX-License-Identifier: Apache-2.0
// One signature against one key. Never throws: any mismatch (unknown method,
// method/key mismatch, wrong length, unusable key, bad signature) is `false`,
// so a threshold counter can simply skip what does not verify (as notary's
// VerifySignatures skips failing signatures). The message is the canonical
// bytes of `signed`; this module does not canonicalise.

import { verify as cryptoVerify } from 'node:crypto';
import type { PublicKey, Signature } from '../tuf/model.js';
import { prepareKey } from './key-object.js';
import { getScheme, schemeAcceptsKey, verifyOptions } from './schemes.js';

export { toKeyObject } from './key-object.js';

/** Whether `signature` is a valid signature by `key` over `message` under its method. Never throws. */
export function verifySignature(key: PublicKey, signature: Signature, message: Uint8Array): boolean {
  try {
    const scheme = getScheme(signature.method);
    if (scheme === undefined) return false;
    const prepared = prepareKey(key);
    if (prepared === null || !schemeAcceptsKey(scheme, key, prepared)) return false;
    // SECURITY: fixed-size encodings must have exactly the key's size; this is
    // what makes a DER ECDSA signature fail under Notary's `ecdsa` (as in Go).
    if (scheme.fixedLength && signature.sig.length !== prepared.fixedSignatureLength) return false;
    return cryptoVerify(scheme.hash, message, verifyOptions(scheme, prepared), signature.sig);
  } catch {
    return false;
  }
}

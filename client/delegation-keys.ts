// SPDX-License-Identifier: Apache-2.0
// Public keys for `delegation add`, read from PEM files as notary's
// utils.ParsePEMPublicKey reads them:
//   CERTIFICATE  -> ecdsa-x509 / rsa-x509, re-encoded in Go's PEM layout (so
//                   the key ID is the one notary computes), checked like notary
//                   (validity window incl. expiry with one day of leeway,
//                   no SHA-1, RSA >= 2048) and stricter (shared/crypto checks);
//   PUBLIC KEY   -> ecdsa / rsa (ed25519 too), public = base64 of the DER SPKI.
// Only the first PEM block counts, as in notary; every block must be well-formed PEM.

import { createPublicKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { UsageError } from '../shared/errors.js';
import { publicKeyFromCertificatePem, publicKeyFromKeyObject } from '../shared/codec/notary-keys.js';
import { certificateToPem, checkDelegationCertificate, MIN_RSA_BITS } from '../shared/crypto/index.js';
import type { PublicKey } from '../shared/tuf/model.js';
import { parsePemBlocks, PemError } from '../keys/pem.js';

/** @throws {UsageError} naming the file and what is wrong with it. */
export function readDelegationKey(file: string, now: Date): PublicKey {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `file for public key does not exist: ${file}` : `unable to read public key from file ${file} (${code ?? 'error'})`, { cause });
  }
  let block;
  try {
    block = parsePemBlocks(text)[0];
  } catch (cause) {
    if (!(cause instanceof PemError)) throw cause;
    throw new UsageError(`${file}: ${cause.message}`, { cause });
  }
  if (block === undefined) throw new UsageError(`${file} holds no PEM block; give an X.509 certificate (CERTIFICATE) or a public key (PUBLIC KEY)`);
  const der = block.bytes;
  if (block.type === 'CERTIFICATE') {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch (cause) {
      throw new UsageError(`${file}: the certificate does not parse`, { cause });
    }
    const problem = checkDelegationCertificate(cert, now);
    if (problem !== null) throw new UsageError(`${file}: ${problem}`);
    return publicKeyFromCertificatePem(certificateToPem(der));
  }
  if (block.type === 'PUBLIC KEY') {
    try {
      const ko = createPublicKey({ key: der, format: 'der', type: 'spki' });
      const bits = ko.asymmetricKeyDetails?.modulusLength;
      if (ko.asymmetricKeyType === 'rsa' && (bits ?? 0) < MIN_RSA_BITS) throw new Error(`an RSA key of ${bits ?? 0} bits is too short, at least ${MIN_RSA_BITS} are required`);
      return publicKeyFromKeyObject(ko);
    } catch (cause) {
      throw new UsageError(`${file}: the public key cannot be used (${(cause as Error).message}); give an ECDSA, RSA or Ed25519 key`, { cause });
    }
  }
  throw new UsageError(`${file}: unsupported PEM block type ${JSON.stringify(block.type)}, expected CERTIFICATE or PUBLIC KEY`);
}

// SPDX-License-Identifier: Apache-2.0
// Public surface of shared/crypto: verification, signing, digests, ECDSA
// encodings and Notary root certificates, all on node:crypto.

export { sha256, sha256Hex, sha512 } from './digest.js';
export { derToP1363, p1363ToDer } from './der.js';
export { MIN_RSA_BITS, toKeyObject } from './key-object.js';
export { getScheme, NOTARY_PSS_SALT_LENGTH, SCHEMES, type Scheme, type SchemeDialect } from './schemes.js';
export { verifySignature } from './verify.js';
export { createKeyObjectSigner, methodFor, type KeyObjectSignerOptions } from './sign.js';
export {
  certificateSignerFromKeyObject,
  certificateToPem,
  checkDelegationCertificate,
  checkPathLength,
  checkRootCertificate,
  checkSignatureAlgorithm,
  createSelfSignedCertificate,
  matchCommonNameToGun,
  ROOT_CERTIFICATE_VALIDITY_MS,
  type SelfSignedCertificateRequest,
} from './x509.js';

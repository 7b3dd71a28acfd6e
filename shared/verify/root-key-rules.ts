// SPDX-License-Identifier: Apache-2.0
// What may act as a root key: a rule set supplied by the dialect.
//   - Notary: an X.509 certificate (`ecdsa-x509`/`rsa-x509`) whose bundle holds
//     exactly one leaf, first, with CN = GUN (or a `*` prefix), SHA-256+ signed,
//     ECDSA or RSA >= 2048, and a validity window covering the reference time
//     (notary-wire.md §1.3, trustpinning/certs.go).
//   - TUF 1.0: any key of a supported algorithm.
// `now` undefined means "ignore validity periods": notary still trusts the
// previous root's certificates after they expire, and intermediate roots of a
// walk are not judged by the clock.

import { checkRootCertificate } from '../crypto/x509.js';
import type { PublicKey } from '../tuf/model.js';

export interface RootKeyRules {
  /** Why `key` cannot be a root key of `gun` (at `now`, when given), or null when it can. */
  rootKeyProblem(key: PublicKey, gun: string, now: Date | undefined): string | null;
}

export const notaryRootKeyRules: RootKeyRules = {
  rootKeyProblem(key, gun, now) {
    const [leaf, ...rest] = key.certificates;
    if (leaf === undefined) {
      return `a ${key.keyType} key is not a certificate; Notary root keys must be X.509 certificates (ecdsa-x509 or rsa-x509) with CN ${JSON.stringify(gun)}`;
    }
    // notary parseAllCerts: exactly one leaf, first; the rest are CA certificates.
    if (rest.some((c) => !c.ca)) return 'certificate bundle holds more than one leaf certificate';
    // Without a clock, judge the certificate at its own notBefore: every time-independent rule still applies.
    const at = now ?? new Date(leaf.validFrom);
    return checkRootCertificate(leaf, gun, Number.isNaN(at.getTime()) ? new Date(0) : at);
  },
};

export const plainRootKeyRules: RootKeyRules = {
  rootKeyProblem(key) {
    return key.algorithm === 'unknown' || key.spki === null ? `key type ${key.keyType} is not supported` : null;
  },
};

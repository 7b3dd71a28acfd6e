// SPDX-License-Identifier: Apache-2.0
// Whether a certificate may serve as a Notary key. The rules are notary 0.7's
// (trustpinning/certs.go validRootLeafCerts + MatchCNToGun, parseAllCerts'
// leaf rule, tuf/utils/x509.go ValidateCertificate), made stricter where
// notary is lax:
//   - notary refuses only SHA-1 signature algorithms; we accept only SHA-256 or
//     stronger (RSA PKCS#1 v1.5, RSA-PSS with SHA-2 parameters, ECDSA) and
//     Ed25519, so MD5/MD2 or unknown algorithms fail too;
//   - the certified key must be ECDSA on a NIST curve or RSA ≥ 2048 (notary
//     would keep other keys and fail later when they verify nothing);
//   - inner and outer signature algorithms must agree (Go's parser checks it).
// CA-ness is read from BasicConstraints as Go does (IsCA = cA), not from
// node's X509Certificate.ca, which also consults KeyUsage.
// The signature-algorithm and path-length rules are exported on their own for
// other chains (token-signing certificates, server/auth/x509-chain.ts).
// Each check returns the reason a certificate is unusable, or null.

import type { X509Certificate } from 'node:crypto';
import { pssHashAlgorithm, readCertificateFields, type CertificateFields } from './certificate-fields.js';
import { DerError } from './der-tlv.js';
import { curveBits, MIN_RSA_BITS } from './key-object.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';

const ACCEPTED_SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = Object.freeze({
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
});

// Named so the refusal says which broken hash it found: [hash, algorithm].
const WEAK_SIGNATURE_ALGORITHMS: Readonly<Record<string, readonly [string, string]>> = Object.freeze({
  '1.2.840.113549.1.1.5': ['SHA-1', 'sha1WithRSAEncryption'],
  '1.3.14.3.2.29': ['SHA-1', 'sha1WithRSA (OIW)'],
  '1.2.840.10040.4.3': ['SHA-1', 'dsa-with-SHA1'],
  '1.2.840.10045.4.1': ['SHA-1', 'ecdsa-with-SHA1'],
  '1.2.840.113549.1.1.4': ['MD5', 'md5WithRSAEncryption'],
  '1.2.840.113549.1.1.2': ['MD2', 'md2WithRSAEncryption'],
});


interface ParsedCertificate {
  readonly commonName: string | null;
  readonly isCa: boolean;
  readonly maxPathLen: number | null;
  readonly signatureProblem: string | null;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const PSS_SHA2_HASHES = new Set(['2.16.840.1.101.3.4.2.1', '2.16.840.1.101.3.4.2.2', '2.16.840.1.101.3.4.2.3']);

function signatureProblem(cert: CertificateFields): string | null {
  const outer = cert.outerSignature;
  if (!outer.raw.equals(cert.innerSignature.raw)) {
    return 'certificate has different inner and outer signature algorithms; it is malformed';
  }
  const oid = outer.oid;
  const weak = WEAK_SIGNATURE_ALGORITHMS[oid];
  if (weak !== undefined) return `certificate is signed with ${weak[0]} (${weak[1]}); reissue it with SHA-256`;
  if (ACCEPTED_SIGNATURE_ALGORITHMS[oid] !== undefined) return null;
  if (oid === OID_RSASSA_PSS && outer.parameters !== undefined) {
    // Absent PSS parameters mean SHA-1, so only explicit SHA-2 parameters pass.
    try {
      if (PSS_SHA2_HASHES.has(pssHashAlgorithm(outer.parameters))) return null;
    } catch (error) {
      if (!(error instanceof DerError)) throw error;
      // fall through to the refusal below
    }
    return 'certificate is signed with RSA-PSS over SHA-1 or with unreadable parameters; reissue it with SHA-256';
  }
  return `certificate signature algorithm ${oid} is not accepted; reissue it with ECDSA or RSA over SHA-256`;
}

// The facts parse() reads are fixed for a certificate; keys (and so their
// certificates) are shared objects, so each certificate is decoded once.
const PARSED = new WeakMap<X509Certificate, ParsedCertificate | string>();

function parse(x509: X509Certificate): ParsedCertificate | string {
  let parsed = PARSED.get(x509);
  if (parsed === undefined) PARSED.set(x509, (parsed = decode(x509)));
  return parsed;
}

function decode(x509: X509Certificate): ParsedCertificate | string {
  let cert: CertificateFields;
  try {
    cert = readCertificateFields(x509.raw);
  } catch (error) {
    if (!(error instanceof DerError)) throw error;
    return 'certificate DER does not parse as X.509';
  }
  // Go keeps the last CN attribute of the subject.
  const commonName = cert.commonNames.at(-1) ?? null;
  return { commonName, isCa: cert.isCa, maxPathLen: cert.maxPathLen, signatureProblem: signatureProblem(cert), notBefore: cert.notBefore, notAfter: cert.notAfter };
}

function keyProblem(x509: X509Certificate): string | null {
  const key = x509.publicKey;
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits >= MIN_RSA_BITS ? null : `certificate holds an RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are required`;
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    return curveBits(curve) !== undefined ? null : `certificate holds an EC key on curve ${curve}; use P-256, P-384 or P-521`;
  }
  return `certificate holds a ${key.asymmetricKeyType ?? 'unknown'} key; Notary certificate keys must be ECDSA or RSA`;
}

/**
 * Why the signature on `cert` cannot be relied on, or null: SHA-1 (RSA, DSA,
 * ECDSA, RSA-PSS without SHA-2 parameters), MD5, MD2 and any algorithm not
 * listed as accepted are refused, as are differing inner and outer algorithms.
 */
export function checkSignatureAlgorithm(cert: X509Certificate): string | null {
  const parsed = parse(cert);
  return typeof parsed === 'string' ? parsed : parsed.signatureProblem;
}

/**
 * Why `cert`, acting as a CA with `intermediatesBelow` intermediate CAs between
 * it and the leaf, breaks its BasicConstraints pathLenConstraint, or null
 * (Go's x509.Verify rule: intermediates below ≤ MaxPathLen, for intermediates and roots).
 */
export function checkPathLength(cert: X509Certificate, intermediatesBelow: number): string | null {
  const parsed = parse(cert);
  if (typeof parsed === 'string') return parsed;
  if (parsed.maxPathLen === null || intermediatesBelow <= parsed.maxPathLen) return null;
  return `CA certificate allows at most ${parsed.maxPathLen} intermediate CA certificate(s) below it (pathLenConstraint) but the chain has ${intermediatesBelow}; issue the leaf from a CA closer to this one`;
}

/** Checks shared by root and delegation certificates (ValidateCertificate with checkExpiry=false). */
function basicProblem(x509: X509Certificate, parsed: ParsedCertificate): string | null {
  if (parsed.notBefore.getTime() > parsed.notAfter.getTime()) {
    return `certificate validity window is invalid: notBefore ${parsed.notBefore.toISOString()} is after notAfter ${parsed.notAfter.toISOString()}`;
  }
  return parsed.signatureProblem ?? keyProblem(x509);
}

/**
 * Notary's CN rule for root certificates: equal to the GUN, or ending in `*`
 * with the part before the trailing asterisks a prefix of the GUN.
 */
export function matchCommonNameToGun(commonName: string, gun: string): boolean {
  if (commonName.endsWith('*')) return gun.startsWith(commonName.replace(/\*+$/, ''));
  return commonName === gun;
}

/**
 * Why `cert` cannot be a root key certificate of `gun` at `now`, or null when it can:
 * non-CA leaf, CN matching the GUN, valid window with notBefore ≤ now + 1 day
 * (notary's clock-skew allowance) and notAfter ≥ now, SHA-256+ signature,
 * ECDSA or RSA ≥ 2048 key.
 */
export function checkRootCertificate(cert: X509Certificate, gun: string, now: Date): string | null {
  const parsed = parse(cert);
  if (typeof parsed === 'string') return parsed;
  if (parsed.isCa) return 'certificate is a CA certificate (BasicConstraints CA:TRUE); a root key needs a leaf certificate';
  if (parsed.commonName === null) return `certificate has no common name; it must be the GUN ${JSON.stringify(gun)}`;
  if (!matchCommonNameToGun(parsed.commonName, gun)) {
    return `certificate common name ${JSON.stringify(parsed.commonName)} does not match GUN ${JSON.stringify(gun)}`;
  }
  return basicProblem(cert, parsed) ?? windowProblem(parsed, now, 'rotate the root key');
}

/** Why a certificate is not valid at `now` (notBefore more than a day ahead, notary's clock-skew allowance; or past notAfter), or null. */
function windowProblem(parsed: ParsedCertificate, now: Date, renew: string): string | null {
  if (parsed.notBefore.getTime() > now.getTime() + DAY_MS) {
    return `certificate is not valid until ${parsed.notBefore.toISOString()}, more than a day after ${now.toISOString()}; check the clock`;
  }
  if (now.getTime() > parsed.notAfter.getTime()) return `certificate expired at ${parsed.notAfter.toISOString()}; ${renew}`;
  return null;
}

/**
 * Why `cert` cannot be a delegation key certificate, or null. As in notary,
 * verification does not check expiry (the delegation role's own expiry
 * governs) and CA certificates are allowed; the validity window's order,
 * signature algorithm and key strength are checked. With `addedAt` (notary's
 * `delegation add`), the certificate must also be valid then.
 */
export function checkDelegationCertificate(cert: X509Certificate, addedAt?: Date): string | null {
  const parsed = parse(cert);
  if (typeof parsed === 'string') return parsed;
  return basicProblem(cert, parsed) ?? (addedAt === undefined ? null : windowProblem(parsed, addedAt, 'make a new certificate for the delegation key'));
}

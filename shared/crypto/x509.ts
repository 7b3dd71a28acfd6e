// SPDX-License-Identifier: Apache-2.0
// X.509 certificates for Notary root keys. Notary's root role keys are
// self-signed certificates (tuf/utils/x509.go NewCertificate +
// cryptoservice/certificate.go); the one made here has the same shape,
// field for field: v3, random 128-bit serial, issuer = subject = CN=<GUN>,
// 10-year (3650-day) validity, KeyUsage digitalSignature+keyEncipherment
// (critical), ExtKeyUsage codeSigning, BasicConstraints CA:FALSE (critical),
// ecdsa-with-SHA256 or sha256WithRSAEncryption, PEM in Go's layout.
// Signing is a callback so a hardware token can produce the signature.
// The TBSCertificate is built with @peculiar/asn1-x509, not by hand.

import { createPublicKey, randomBytes, sign as cryptoSign, X509Certificate, type KeyObject } from 'node:crypto';
import type { AlgorithmIdentifier, Extension, Name, SubjectPublicKeyInfo, Time } from '@peculiar/asn1-x509';
import { CryptoError, TrustError } from '../errors.js';
import { asn1 } from './asn1.js';
import { MIN_RSA_BITS } from './key-object.js';

export { checkDelegationCertificate, checkPathLength, checkRootCertificate, checkSignatureAlgorithm, matchCommonNameToGun } from './certificate-checks.js';

/** notary.NotaryRootExpiry: 10 years of 365 days. */
export const ROOT_CERTIFICATE_VALIDITY_MS = 10 * 365 * 24 * 60 * 60 * 1000;

const OID_COMMON_NAME = '2.5.4.3';

export interface SelfSignedCertificateRequest {
  /** Subject and issuer CN; for a root key, the GUN. */
  readonly commonName: string;
  /** DER SubjectPublicKeyInfo of the certified key (ECDSA or RSA ≥ 2048). */
  readonly publicKeySpki: Buffer;
  /** Default: now. Truncated to whole seconds, as X.509 time has no fraction here. */
  readonly notBefore?: Date;
  /** Default: notBefore + 10 years (3650 days), notary's root certificate lifetime. */
  readonly notAfter?: Date;
  /**
   * Signs the DER TBSCertificate: DER ECDSA-Sig-Value over SHA-256 for EC keys
   * (see p1363ToDer for raw token output), RSASSA-PKCS1-v1_5 SHA-256 for RSA.
   */
  readonly sign: (tbs: Buffer) => Promise<Buffer>;
}

/** Go's PEM layout: 64-character base64 lines, every line ending in `\n`. */
export function certificateToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

// encoding/asn1 writes a PrintableString when every character allows it
// (asterisk excluded), else a UTF8String; matching it keeps CN bytes equal to notary's.
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function commonNameRdn(commonName: string): Name {
  const { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } = asn1().x509;
  const value = new AttributeValue(PRINTABLE.test(commonName) ? { printableString: commonName } : { utf8String: commonName });
  return new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OID_COMMON_NAME, value })])]);
}

// Go: UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5).
function x509Time(date: Date): Time {
  const year = date.getUTCFullYear();
  const { Time } = asn1().x509;
  return new Time(year >= 1950 && year < 2050 ? { utcTime: date } : { generalTime: date });
}

/** 128-bit random serial as a positive, minimally encoded INTEGER (Go: rand.Int below 2^128). */
function randomSerial(): ArrayBuffer {
  let bytes = randomBytes(16);
  while (bytes.every((b) => b === 0)) bytes = randomBytes(16);
  let i = 0;
  while (bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  const out = Buffer.concat([(trimmed[0]! & 0x80) !== 0 ? Buffer.from([0]) : Buffer.alloc(0), trimmed]);
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.length);
}

function extension(extnID: string, critical: boolean, value: object): Extension {
  const { AsnConvert, OctetString } = asn1().schema;
  const { Extension } = asn1().x509;
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function signatureAlgorithmFor(key: KeyObject): AlgorithmIdentifier {
  const { AlgorithmIdentifier } = asn1().x509;
  const { id_ecdsaWithSHA256 } = asn1().ecc;
  const { id_sha256WithRSAEncryption } = asn1().rsa;
  if (key.asymmetricKeyType === 'ec') return new AlgorithmIdentifier({ algorithm: id_ecdsaWithSHA256 });
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new CryptoError('INVALID_KEY', `RSA key of ${bits} bits is too short for a certificate notary accepts; use at least ${MIN_RSA_BITS} bits`);
    // RSA signature algorithms carry an explicit NULL parameter, as Go writes it.
    return new AlgorithmIdentifier({ algorithm: id_sha256WithRSAEncryption, parameters: null });
  }
  throw new CryptoError('UNSUPPORTED_ALGORITHM', `cannot certify a ${key.asymmetricKeyType ?? 'unknown'} key: notary certificates hold ECDSA or RSA keys`);
}

function round(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/**
 * A self-signed certificate shaped like notary's root certificates, as PEM text.
 * @throws {CryptoError} INVALID_CERTIFICATE for an empty CN or an empty/inverted validity window;
 *   INVALID_KEY / UNSUPPORTED_ALGORITHM for an unusable key;
 *   SIGNING_FAILED when `sign` fails or its signature does not verify. A TrustError of `sign`
 *   other than a CryptoError (KeyStoreError, TokenError: PIN or passphrase missing or wrong) is rethrown unchanged.
 */
export async function createSelfSignedCertificate(request: SelfSignedCertificateRequest): Promise<string> {
  const { commonName, publicKeySpki } = request;
  if (commonName === '') throw new CryptoError('INVALID_CERTIFICATE', 'certificate common name must not be empty; pass the GUN');
  const { AsnConvert } = asn1().schema;
  const { BasicConstraints, Certificate, ExtendedKeyUsage, Extensions, KeyUsage, KeyUsageFlags, SubjectPublicKeyInfo, TBSCertificate, Validity, Version } = asn1().x509;
  const { id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage, id_kp_codeSigning } = asn1().x509;
  let publicKey: KeyObject;
  let spki: SubjectPublicKeyInfo;
  try {
    publicKey = createPublicKey({ key: publicKeySpki, format: 'der', type: 'spki' });
    spki = AsnConvert.parse(publicKeySpki, SubjectPublicKeyInfo);
  } catch (cause) {
    throw new CryptoError('INVALID_KEY', 'publicKeySpki is not a DER SubjectPublicKeyInfo', { cause });
  }
  const signatureAlgorithm = signatureAlgorithmFor(publicKey);
  const notBefore = round(request.notBefore ?? new Date());
  const notAfter = round(request.notAfter ?? new Date(notBefore.getTime() + ROOT_CERTIFICATE_VALIDITY_MS));
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime()) || notAfter.getTime() <= notBefore.getTime()) {
    throw new CryptoError('INVALID_CERTIFICATE', `certificate validity window is empty or invalid (${String(request.notBefore)} .. ${String(request.notAfter)}); notAfter must be after notBefore`);
  }
  const name = commonNameRdn(commonName);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: randomSerial(),
    signature: signatureAlgorithm,
    issuer: name,
    validity: new Validity(),
    subject: name,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions([
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment)),
      extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_codeSigning])),
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
    ]),
  });
  tbs.validity.notBefore = x509Time(notBefore);
  tbs.validity.notAfter = x509Time(notAfter);
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  let signature: Buffer;
  try {
    signature = await request.sign(tbsDer);
  } catch (cause) {
    // The signer's own errors (a token PIN that is missing or wrong, a locked or missing token, a key
    // file passphrase) already say what to do, and their codes decide the exit status: passed on as they are.
    if (cause instanceof TrustError && !(cause instanceof CryptoError)) throw cause;
    throw new CryptoError('SIGNING_FAILED', `signing the certificate for ${JSON.stringify(commonName)} failed`, { cause });
  }
  const der = Buffer.from(
    AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm, signatureValue: new Uint8Array(signature).buffer })),
  );
  // SECURITY: never hand out a certificate whose self-signature does not verify
  // (wrong key, raw r‖s instead of DER, PSS instead of PKCS#1 v1.5).
  let verified = false;
  try {
    verified = new X509Certificate(der).verify(publicKey);
  } catch {
    verified = false;
  }
  if (!verified) {
    const hint = publicKey.asymmetricKeyType === 'ec' ? 'a DER ECDSA-Sig-Value over SHA-256 (convert raw r‖s with p1363ToDer)' : 'an RSASSA-PKCS1-v1_5 SHA-256 signature';
    throw new CryptoError('SIGNING_FAILED', `certificate signature for ${JSON.stringify(commonName)} does not verify with the certified key; sign must return ${hint} made by that key`);
  }
  return certificateToPem(der);
}

/** A certificate `sign` callback over an in-memory private key (DER ECDSA / PKCS#1 v1.5, SHA-256). */
export function certificateSignerFromKeyObject(privateKey: KeyObject): (tbs: Buffer) => Promise<Buffer> {
  return (tbs) =>
    new Promise((resolve, reject) => {
      cryptoSign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' }, (err, sig) => (err === null ? resolve(sig) : reject(err)));
    });
}

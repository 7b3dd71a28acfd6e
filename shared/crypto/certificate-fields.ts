// SPDX-License-Identifier: Apache-2.0
// The few X.509 fields the Notary certificate rules read (RFC 5280 §4.1):
// subject common names, validity, BasicConstraints (cA, pathLenConstraint),
// and both signature AlgorithmIdentifiers (with RSASSA-PSS's hash), read with the strict DER
// reader of der-tlv.ts from a certificate node:crypto (OpenSSL) has already
// parsed. Anything unexpected is a DerError.

import { isUtf8 } from 'node:buffer';
import { children, DerError, expectTag, parseOne, readOid, readSmallInt, TAG, type DerElement } from './der-tlv.js';

const STRING_TAG = { UTF8: 0x0c, PRINTABLE: 0x13, T61: 0x14, IA5: 0x16, UNIVERSAL: 0x1c, BMP: 0x1e } as const;
const BOOLEAN = 0x01;
const SET = 0x31;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_COMMON_NAME = '2.5.4.3';

function fail(what: string): never {
  throw new DerError(what);
}

function decodeString(el: DerElement): string {
  const v = el.value;
  switch (el.tag) {
    case STRING_TAG.UTF8:
      if (!isUtf8(v)) fail('UTF8String is not UTF-8');
      return v.toString('utf8');
    case STRING_TAG.PRINTABLE:
    case STRING_TAG.IA5:
    case STRING_TAG.T61:
      return v.toString('latin1');
    case STRING_TAG.BMP:
      if (v.length % 2 !== 0) fail('odd-length BMPString');
      return Buffer.from(v).swap16().toString('utf16le');
    case STRING_TAG.UNIVERSAL: {
      if (v.length % 4 !== 0) fail('UniversalString length is not a multiple of 4');
      let s = '';
      for (let i = 0; i < v.length; i += 4) {
        const cp = v.readUInt32BE(i);
        if (cp > 0x10ffff) fail('UniversalString holds a value beyond Unicode');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return fail('attribute value is not a string type');
  }
}

const TIME_PATTERN = {
  [UTC_TIME]: /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
  [GENERALIZED_TIME]: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d*[1-9])?Z$/,
} as const;

function decodeTime(el: DerElement | undefined): Date {
  if (el === undefined || (el.tag !== UTC_TIME && el.tag !== GENERALIZED_TIME)) fail('validity time is missing or has the wrong type');
  const m = TIME_PATTERN[el.tag].exec(el.value.toString('latin1'));
  if (m === null) fail('validity time is not in DER form');
  let year = Number(m[1]);
  // RFC 5280 §4.1.2.5.1: a two-digit year of 50 or more is 19YY.
  if (el.tag === UTC_TIME) year += year >= 50 ? 1900 : 2000;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) fail('validity time is not a real date');
  return d;
}

export interface AlgorithmIdentifier {
  readonly oid: string;
  /** The parameters element, if any. */
  readonly parameters: Buffer | undefined;
  /** The whole AlgorithmIdentifier as encoded. */
  readonly raw: Buffer;
}

function decodeAlgorithm(el: DerElement | undefined, what: string): AlgorithmIdentifier {
  const seq = expectTag(el, TAG.SEQUENCE, what);
  const [oid, parameters, extra] = children(seq);
  if (extra !== undefined) fail(`${what} has extra elements`);
  return { oid: readOid(oid, `${what} algorithm`), parameters: parameters?.raw, raw: seq.raw };
}

export interface CertificateFields {
  /** Every common name of the subject, in order (Go keeps the last). */
  readonly commonNames: readonly string[];
  readonly isCa: boolean;
  /** BasicConstraints pathLenConstraint: how many intermediate CAs may follow this CA; null when unlimited. */
  readonly maxPathLen: number | null;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** tbsCertificate.signature */
  readonly innerSignature: AlgorithmIdentifier;
  /** Certificate.signatureAlgorithm */
  readonly outerSignature: AlgorithmIdentifier;
}

/** @throws {DerError} when `der` is not an X.509 certificate as RFC 5280 lays it out. */
export function readCertificateFields(der: Buffer): CertificateFields {
  const [tbs, outer, signatureValue, extra] = children(parseOne(der, TAG.SEQUENCE, 'Certificate'));
  expectTag(signatureValue, TAG.BIT_STRING, 'signatureValue');
  if (extra !== undefined) fail('Certificate has extra elements');
  const fields = children(expectTag(tbs, TAG.SEQUENCE, 'tbsCertificate'));
  let i = 0;
  if (fields[i]?.tag === TAG.CONTEXT_0) i++; // [0] EXPLICIT version
  expectTag(fields[i++], TAG.INTEGER, 'serialNumber');
  const innerSignature = decodeAlgorithm(fields[i++], 'signature');
  expectTag(fields[i++], TAG.SEQUENCE, 'issuer');
  const validity = children(expectTag(fields[i++], TAG.SEQUENCE, 'validity'));
  if (validity.length !== 2) fail('validity must hold two times');
  const subject = expectTag(fields[i++], TAG.SEQUENCE, 'subject');
  expectTag(fields[i++], TAG.SEQUENCE, 'subjectPublicKeyInfo');
  if (fields[i]?.tag === 0x81) i++; // [1] issuerUniqueID
  if (fields[i]?.tag === 0x82) i++; // [2] subjectUniqueID
  let basic: BasicConstraints = { isCa: false, maxPathLen: null };
  if (fields[i]?.tag === 0xa3) {
    const [list, more] = children(fields[i++]!);
    if (more !== undefined) fail('extensions wrapper has extra elements');
    for (const ext of children(expectTag(list, TAG.SEQUENCE, 'extensions'))) {
      const parts = children(expectTag(ext, TAG.SEQUENCE, 'extension'));
      const id = readOid(parts[0], 'extnID');
      const value = expectTag(parts[parts.length - 1], TAG.OCTET_STRING, 'extnValue');
      if (parts.length === 3) expectTag(parts[1], BOOLEAN, 'critical');
      else if (parts.length !== 2) fail('extension has the wrong number of elements');
      if (id === OID_BASIC_CONSTRAINTS) basic = readBasicConstraints(value.value);
    }
  }
  if (i !== fields.length) fail('tbsCertificate has unexpected elements');
  const commonNames: string[] = [];
  for (const rdn of children(subject)) {
    for (const atv of children(expectTag(rdn, SET, 'RelativeDistinguishedName'))) {
      const [type, value, more] = children(expectTag(atv, TAG.SEQUENCE, 'AttributeTypeAndValue'));
      if (more !== undefined || value === undefined) fail('AttributeTypeAndValue must hold a type and a value');
      if (readOid(type, 'attribute type') === OID_COMMON_NAME) commonNames.push(decodeString(value));
    }
  }
  return {
    commonNames,
    isCa: basic.isCa,
    maxPathLen: basic.maxPathLen,
    notBefore: decodeTime(validity[0]),
    notAfter: decodeTime(validity[1]),
    innerSignature,
    outerSignature: decodeAlgorithm(outer, 'signatureAlgorithm'),
  };
}

interface BasicConstraints {
  readonly isCa: boolean;
  readonly maxPathLen: number | null;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL } */
function readBasicConstraints(der: Buffer): BasicConstraints {
  const items = children(parseOne(der, TAG.SEQUENCE, 'BasicConstraints'));
  let i = 0;
  let isCa = false;
  const first = items[i];
  if (first?.tag === BOOLEAN) {
    if (first.value.length !== 1) fail('BasicConstraints cA is not a one-byte BOOLEAN');
    isCa = first.value[0] !== 0;
    i++;
  }
  let maxPathLen: number | null = null;
  // A negative or huge pathLenConstraint is a DerError: RFC 5280 allows 0..MAX only.
  if (items[i]?.tag === TAG.INTEGER) maxPathLen = readSmallInt(items[i], 'BasicConstraints pathLenConstraint');
  return { isCa, maxPathLen };
}

/**
 * The hash OID of RSASSA-PSS-params (RFC 4055 §3.1), or 'sha1' when it is absent (the default).
 * @throws {DerError} when the parameters do not parse.
 */
export function pssHashAlgorithm(parameters: Buffer): string {
  const [first] = children(parseOne(parameters, TAG.SEQUENCE, 'RSASSA-PSS-params'));
  if (first?.tag !== TAG.CONTEXT_0) return 'sha1';
  return decodeAlgorithm(children(first)[0], 'hashAlgorithm').oid;
}

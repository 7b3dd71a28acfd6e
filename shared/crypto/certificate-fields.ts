// SPDX-License-Identifier: Apache-2.0
// The few X.509 fields the Notary certificate rules read (RFC 5280 §4.1):
// subject common names, validity, BasicConstraints cA, and both signature
// AlgorithmIdentifiers (with RSASSA-PSS's hash). A small strict DER walker:
// the @peculiar ASN.1 schema libraries took ~120 ms to load, which every CLI
// command that verifies a root paid, for five fields of a certificate that
// node:crypto (OpenSSL) has already parsed. Anything unexpected is an error.

import { isUtf8 } from 'node:buffer';

const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_COMMON_NAME = '2.5.4.3';

/** The DER did not have the shape of an X.509 certificate. */
export class CertificateShapeError extends Error {}

interface Tlv {
  readonly tag: number;
  /** The whole element, header included. */
  readonly raw: Buffer;
  readonly content: Buffer;
}

function fail(what: string): never {
  throw new CertificateShapeError(what);
}

/** One DER element at `offset` of `buf` (definite, minimal lengths; low tag numbers only). */
function readTlv(buf: Buffer, offset: number): Tlv {
  if (offset + 2 > buf.length) fail('truncated element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) fail('high tag numbers are not used in certificates');
  let length = buf[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4) fail('indefinite or oversized length');
    if (offset + 2 + n > buf.length) fail('truncated length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i]!;
    if (length < 0x80 || buf[offset + 2] === 0) fail('non-minimal length');
    header += n;
  }
  const end = offset + header + length;
  if (end > buf.length) fail('element runs past its parent');
  return { tag, raw: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

/** The elements inside a constructed element's content. */
function children(content: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = 0; offset < content.length; ) {
    const tlv = readTlv(content, offset);
    out.push(tlv);
    offset += tlv.raw.length;
  }
  return out;
}

function expect(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined || tlv.tag !== tag) fail(`${what} is missing or has the wrong type`);
  return tlv;
}

function decodeOid(content: Buffer): string {
  if (content.length === 0) fail('empty OID');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < content.length; i++) {
    const byte = content[i]!;
    if (value === 0 && byte === 0x80) fail('non-minimal OID arc');
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) fail('OID arc too large');
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === content.length - 1) fail('truncated OID');
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

function decodeString(tlv: Tlv): string {
  switch (tlv.tag) {
    case TAG.UTF8_STRING:
      if (!isUtf8(tlv.content)) fail('UTF8String is not UTF-8');
      return tlv.content.toString('utf8');
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.T61_STRING:
      return tlv.content.toString('latin1');
    case TAG.BMP_STRING: {
      if (tlv.content.length % 2 !== 0) fail('odd-length BMPString');
      return Buffer.from(tlv.content).swap16().toString('utf16le');
    }
    case TAG.UNIVERSAL_STRING: {
      if (tlv.content.length % 4 !== 0) fail('UniversalString length is not a multiple of 4');
      let s = '';
      for (let i = 0; i < tlv.content.length; i += 4) {
        const cp = tlv.content.readUInt32BE(i);
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
  [TAG.UTC_TIME]: /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
  [TAG.GENERALIZED_TIME]: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d*[1-9])?Z$/,
} as const;

function decodeTime(tlv: Tlv | undefined): Date {
  if (tlv === undefined || (tlv.tag !== TAG.UTC_TIME && tlv.tag !== TAG.GENERALIZED_TIME)) fail('validity time is missing or has the wrong type');
  const m = TIME_PATTERN[tlv.tag].exec(tlv.content.toString('latin1'));
  if (m === null) fail('validity time is not in DER form');
  let year = Number(m[1]);
  // RFC 5280 §4.1.2.5.1: a two-digit year of 50 or more is 19YY.
  if (tlv.tag === TAG.UTC_TIME) year += year >= 50 ? 1900 : 2000;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(ms);
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

function decodeAlgorithm(tlv: Tlv | undefined, what: string): AlgorithmIdentifier {
  const seq = expect(tlv, TAG.SEQUENCE, what);
  const [oid, parameters, extra] = children(seq.content);
  if (extra !== undefined) fail(`${what} has extra elements`);
  return { oid: decodeOid(expect(oid, TAG.OID, `${what} algorithm`).content), parameters: parameters?.raw, raw: seq.raw };
}

export interface CertificateFields {
  /** Every common name of the subject, in order (Go keeps the last). */
  readonly commonNames: readonly string[];
  readonly isCa: boolean;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** tbsCertificate.signature */
  readonly innerSignature: AlgorithmIdentifier;
  /** Certificate.signatureAlgorithm */
  readonly outerSignature: AlgorithmIdentifier;
}

/** @throws {CertificateShapeError} when `der` is not an X.509 certificate as RFC 5280 lays it out. */
export function readCertificateFields(der: Buffer): CertificateFields {
  const top = readTlv(der, 0);
  if (top.raw.length !== der.length) fail('trailing bytes after the certificate');
  const [tbs, outer, signatureValue, extra] = children(expect(top, TAG.SEQUENCE, 'Certificate').content);
  expect(signatureValue, TAG.BIT_STRING, 'signatureValue');
  if (extra !== undefined) fail('Certificate has extra elements');
  const fields = children(expect(tbs, TAG.SEQUENCE, 'tbsCertificate').content);
  let i = 0;
  if (fields[i]?.tag === 0xa0) i++; // [0] EXPLICIT version
  expect(fields[i++], TAG.INTEGER, 'serialNumber');
  const innerSignature = decodeAlgorithm(fields[i++], 'signature');
  expect(fields[i++], TAG.SEQUENCE, 'issuer');
  const validity = children(expect(fields[i++], TAG.SEQUENCE, 'validity').content);
  if (validity.length !== 2) fail('validity must hold two times');
  const subject = expect(fields[i++], TAG.SEQUENCE, 'subject');
  expect(fields[i++], TAG.SEQUENCE, 'subjectPublicKeyInfo');
  if (fields[i]?.tag === 0x81) i++; // [1] issuerUniqueID
  if (fields[i]?.tag === 0x82) i++; // [2] subjectUniqueID
  let isCa = false;
  if (fields[i]?.tag === 0xa3) {
    const [list, more] = children(fields[i++]!.content);
    if (more !== undefined) fail('extensions wrapper has extra elements');
    for (const ext of children(expect(list, TAG.SEQUENCE, 'extensions').content)) {
      const parts = children(expect(ext, TAG.SEQUENCE, 'extension').content);
      const id = decodeOid(expect(parts[0], TAG.OID, 'extnID').content);
      const value = expect(parts[parts.length - 1], TAG.OCTET_STRING, 'extnValue');
      if (parts.length === 3) expect(parts[1], TAG.BOOLEAN, 'critical');
      else if (parts.length !== 2) fail('extension has the wrong number of elements');
      if (id === OID_BASIC_CONSTRAINTS) isCa = readBasicConstraintsCa(value.content);
    }
  }
  if (i !== fields.length) fail('tbsCertificate has unexpected elements');
  const commonNames: string[] = [];
  for (const rdn of children(subject.content)) {
    for (const atv of children(expect(rdn, TAG.SET, 'RelativeDistinguishedName').content)) {
      const [type, value, more] = children(expect(atv, TAG.SEQUENCE, 'AttributeTypeAndValue').content);
      if (more !== undefined || value === undefined) fail('AttributeTypeAndValue must hold a type and a value');
      if (decodeOid(expect(type, TAG.OID, 'attribute type').content) === OID_COMMON_NAME) commonNames.push(decodeString(value));
    }
  }
  return {
    commonNames,
    isCa,
    notBefore: decodeTime(validity[0]),
    notAfter: decodeTime(validity[1]),
    innerSignature,
    outerSignature: decodeAlgorithm(outer, 'signatureAlgorithm'),
  };
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL } */
function readBasicConstraintsCa(der: Buffer): boolean {
  const seq = readTlv(der, 0);
  if (seq.raw.length !== der.length) fail('trailing bytes after BasicConstraints');
  const [first] = children(expect(seq, TAG.SEQUENCE, 'BasicConstraints').content);
  if (first?.tag !== TAG.BOOLEAN) return false;
  if (first.content.length !== 1) fail('BasicConstraints cA is not a one-byte BOOLEAN');
  return first.content[0] !== 0;
}

/**
 * The hash OID of RSASSA-PSS-params (RFC 4055 §3.1), or 'sha1' when it is absent (the default).
 * @throws {CertificateShapeError} when the parameters do not parse.
 */
export function pssHashAlgorithm(parameters: Buffer): string {
  const seq = readTlv(parameters, 0);
  const [first] = children(expect(seq, TAG.SEQUENCE, 'RSASSA-PSS-params').content);
  if (first?.tag !== 0xa0) return 'sha1';
  const [alg] = children(first.content);
  return decodeAlgorithm(alg, 'hashAlgorithm').oid;
}

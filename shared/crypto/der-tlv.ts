// SPDX-License-Identifier: Apache-2.0
// A minimal DER reader and writer for the few structures key files use
// (PKCS#8, PBES2 parameters, SEC1 wrappers; the X.509 fields the certificate
// rules read). Hand-rolled rather than @peculiar/asn1-schema because the
// PBES2/PBKDF2 parameter schemas would need legacy decorators (not enabled in
// this tsconfig), because the writer must reproduce Notary's bytes exactly
// (e.g. an AlgorithmIdentifier without NULL), and because loading those
// libraries cost ~120 ms of every CLI command that checked a certificate.
//
// The reader is strict: definite lengths only, minimal length encoding, no
// trailing bytes where the caller asks for a whole element. It throws
// `DerError`; callers turn that into an error naming the file or certificate.

export class DerError extends Error {}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  CONTEXT_0: 0xa0,
  CONTEXT_1: 0xa1,
} as const;

export interface DerElement {
  readonly tag: number;
  /** Content octets (a view into the input). */
  readonly value: Buffer;
  /** The whole element, header included. */
  readonly raw: Buffer;
}

/** Reads one element at `offset`; returns it and the offset after it. */
export function readElement(buf: Buffer, offset: number): { element: DerElement; next: number } {
  if (offset + 2 > buf.length) throw new DerError('truncated DER element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let lenByte = buf[offset + 1]!;
  let pos = offset + 2;
  let length: number;
  if (lenByte < 0x80) {
    length = lenByte;
  } else {
    lenByte &= 0x7f;
    if (lenByte === 0) throw new DerError('indefinite DER length');
    if (lenByte > 4) throw new DerError('DER length too large');
    if (pos + lenByte > buf.length) throw new DerError('truncated DER length');
    length = 0;
    for (let i = 0; i < lenByte; i++) length = length * 256 + buf[pos + i]!;
    if (buf[pos] === 0 || length < 0x80) throw new DerError('non-minimal DER length');
    pos += lenByte;
  }
  if (pos + length > buf.length) throw new DerError('truncated DER value');
  return {
    element: { tag, value: buf.subarray(pos, pos + length), raw: buf.subarray(offset, pos + length) },
    next: pos + length,
  };
}

/** Parses `buf` as exactly one element of the given tag. */
export function parseOne(buf: Buffer, tag: number, what: string): DerElement {
  const { element, next } = readElement(buf, 0);
  if (element.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${element.tag.toString(16)}`);
  if (next !== buf.length) throw new DerError(`${what}: trailing bytes`);
  return element;
}

/** The children of a constructed element. */
export function children(el: DerElement): DerElement[] {
  const out: DerElement[] = [];
  let off = 0;
  while (off < el.value.length) {
    const { element, next } = readElement(el.value, off);
    out.push(element);
    off = next;
  }
  return out;
}

export function expectTag(el: DerElement | undefined, tag: number, what: string): DerElement {
  if (el === undefined) throw new DerError(`${what} is missing`);
  if (el.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, got 0x${el.tag.toString(16)}`);
  return el;
}

/** A small non-negative INTEGER (versions, iteration counts). */
export function readSmallInt(el: DerElement | undefined, what: string): number {
  const v = expectTag(el, TAG.INTEGER, what).value;
  if (v.length === 0 || v.length > 4) throw new DerError(`${what}: integer out of range`);
  if (v[0]! & 0x80) throw new DerError(`${what}: negative integer`);
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

export function readOid(el: DerElement | undefined, what: string): string {
  const v = expectTag(el, TAG.OID, what).value;
  if (v.length === 0) throw new DerError(`${what}: empty OID`);
  const arcs: number[] = [];
  let acc = 0;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (acc === 0 && b === 0x80) throw new DerError(`${what}: non-minimal OID arc`);
    acc = acc * 128 + (b & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER / 128) throw new DerError(`${what}: OID arc too large`);
    if ((b & 0x80) === 0) {
      arcs.push(acc);
      acc = 0;
    } else if (i === v.length - 1) {
      throw new DerError(`${what}: truncated OID`);
    }
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

// ---- writer -------------------------------------------------------------

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

export const seq = (...items: Buffer[]): Buffer => tlv(TAG.SEQUENCE, Buffer.concat(items));
export const octets = (b: Buffer): Buffer => tlv(TAG.OCTET_STRING, b);

/** Non-negative INTEGER in minimal two's-complement form. */
export function int(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return tlv(TAG.INTEGER, Buffer.from(bytes));
}

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const body: number[] = [];
  const push = (n: number): void => {
    const chunk: number[] = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    body.push(...chunk);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(TAG.OID, Buffer.from(body));
}

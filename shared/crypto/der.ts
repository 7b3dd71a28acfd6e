// SPDX-License-Identifier: Apache-2.0
// ECDSA signature encodings: raw r‖s (IEEE P1363; Notary's `ecdsa`, PKCS#11
// CKM_ECDSA output) and DER ECDSA-Sig-Value (X.509 certificates, TUF 1.0
// `ecdsa-sha2-nistp256`). The ASN.1 structure comes from @peculiar/asn1-ecc;
// only INTEGER normalisation is done here, because that library writes the
// bytes it is given verbatim (no sign byte, no stripping of leading zeros).

import type { ECDSASigValue } from '@peculiar/asn1-ecc';
import { CryptoError } from '../errors.js';
import { asn1 } from './asn1.js';

/** Minimal big-endian two's-complement content octets of a non-negative integer. */
function toDerInteger(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const trimmed = magnitude.subarray(i);
  if (trimmed.length === 0) return new Uint8Array([0]);
  if ((trimmed[0]! & 0x80) === 0) return trimmed;
  const out = new Uint8Array(trimmed.length + 1);
  out.set(trimmed, 1);
  return out;
}

function toArrayBuffer(u: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(u.length);
  new Uint8Array(out).set(u);
  return out;
}

/**
 * DER ECDSA-Sig-Value of a raw r‖s signature (two equal halves).
 * @throws {CryptoError} SIGNATURE_ENCODING when the input is empty or of odd length.
 */
export function p1363ToDer(signature: Uint8Array): Buffer {
  if (signature.length === 0 || signature.length % 2 !== 0) {
    throw new CryptoError('SIGNATURE_ENCODING', `raw ECDSA signature must be two equal halves r‖s, got ${signature.length} bytes`);
  }
  const half = signature.length / 2;
  const { ecc, schema } = asn1();
  const value = new ecc.ECDSASigValue({
    r: toArrayBuffer(toDerInteger(signature.subarray(0, half))),
    s: toArrayBuffer(toDerInteger(signature.subarray(half))),
  });
  return Buffer.from(schema.AsnConvert.serialize(value));
}

/** Magnitude of a DER INTEGER's content octets, refusing negative and non-minimal forms. */
function magnitudeOf(content: ArrayBuffer, name: string, size: number): Uint8Array {
  const b = new Uint8Array(content);
  if (b.length === 0 || (b[0]! & 0x80) !== 0) throw new CryptoError('SIGNATURE_ENCODING', `DER ECDSA signature has a negative or empty ${name}`);
  if (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) throw new CryptoError('SIGNATURE_ENCODING', `DER ECDSA signature has a non-minimal ${name}`);
  const magnitude = b[0] === 0 ? b.subarray(1) : b;
  if (magnitude.length > size) throw new CryptoError('SIGNATURE_ENCODING', `DER ECDSA signature ${name} is longer than ${size} bytes`);
  return magnitude;
}

/**
 * Raw r‖s (each left-padded to `size` bytes, 32 for P-256) of a strict DER
 * ECDSA-Sig-Value. BER variants and trailing bytes are refused so one
 * signature has one encoding.
 * @throws {CryptoError} SIGNATURE_ENCODING when `der` is not such a value.
 */
export function derToP1363(der: Uint8Array, size: number): Buffer {
  if (!Number.isSafeInteger(size) || size <= 0) throw new CryptoError('SIGNATURE_ENCODING', `ECDSA field size must be a positive integer, got ${size}`);
  const { ecc, schema } = asn1();
  const { AsnConvert } = schema;
  let value: ECDSASigValue;
  try {
    value = AsnConvert.parse(der, ecc.ECDSASigValue);
  } catch (cause) {
    throw new CryptoError('SIGNATURE_ENCODING', 'signature is not a DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs)', { cause });
  }
  // Re-encoding must give back the input: this refuses long-form lengths,
  // indefinite lengths and trailing bytes, which the parser tolerates.
  if (!Buffer.from(AsnConvert.serialize(value)).equals(Buffer.from(der.buffer, der.byteOffset, der.byteLength))) {
    throw new CryptoError('SIGNATURE_ENCODING', 'signature is not in canonical DER form');
  }
  const r = magnitudeOf(value.r, 'r', size);
  const s = magnitudeOf(value.s, 's', size);
  const out = Buffer.alloc(2 * size);
  out.set(r, size - r.length);
  out.set(s, 2 * size - s.length);
  return out;
}

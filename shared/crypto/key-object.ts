// SPDX-License-Identifier: Apache-2.0
// PublicKey -> node:crypto KeyObject, parsed once per PublicKey object.
// The cache is a WeakMap keyed by the PublicKey object itself: verifying one
// key 10,000 times parses its SPKI once, and dropping the key frees the entry.
//
// A key that Signet will never verify with yields null here, so no caller can
// use it by accident: unknown algorithms, a SPKI whose type disagrees with the
// key's algorithm, curves Go's crypto/x509 does not parse (notary could not
// verify them either) and RSA moduli under 2048 bits (notary's minimum).

import { createPublicKey, type KeyObject } from 'node:crypto';
import type { PublicKey } from '../tuf/model.js';

/** Smallest RSA modulus notary (and Signet) accepts, in bits. */
export const MIN_RSA_BITS = 2048;

/** The NIST curves Go's crypto/x509 parses, with their size in bits. */
const CURVE_BITS: Readonly<Record<string, number>> = Object.freeze({
  prime256v1: 256,
  secp384r1: 384,
  secp521r1: 521,
  secp224r1: 224,
});

/** Size in bits of a supported named curve, or undefined for curves notary cannot use. */
export function curveBits(namedCurve: string): number | undefined {
  return CURVE_BITS[namedCurve];
}

/** A parsed key plus the facts the scheme checks need, computed once. */
export interface PreparedKey {
  readonly keyObject: KeyObject;
  readonly kind: 'ed25519' | 'ec' | 'rsa';
  /** Named curve for EC keys (`prime256v1`, ...); empty otherwise. */
  readonly curve: string;
  /** Key size in bits (curve size, modulus length, 256 for Ed25519). */
  readonly bits: number;
  /**
   * Exact byte length of a fixed-size signature: raw r‖s for ECDSA
   * (2·⌈bits/8⌉), 64 for Ed25519, the modulus length for RSA.
   */
  readonly fixedSignatureLength: number;
}

const cache = new WeakMap<PublicKey, PreparedKey | null>();

const KIND_OF: Readonly<Record<string, PreparedKey['kind']>> = Object.freeze({ ed25519: 'ed25519', ecdsa: 'ec', rsa: 'rsa' });

function prepare(key: PublicKey): PreparedKey | null {
  const kind = KIND_OF[key.algorithm];
  if (kind === undefined || key.spki === null) return null;
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: key.spki, format: 'der', type: 'spki' });
  } catch {
    return null;
  }
  if (keyObject.asymmetricKeyType !== kind) return null;
  const details = keyObject.asymmetricKeyDetails ?? {};
  switch (kind) {
    case 'ed25519':
      return { keyObject, kind, curve: '', bits: 256, fixedSignatureLength: 64 };
    case 'ec': {
      const curve = details.namedCurve ?? '';
      const bits = CURVE_BITS[curve];
      if (bits === undefined) return null;
      return { keyObject, kind, curve, bits, fixedSignatureLength: 2 * Math.ceil(bits / 8) };
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      // SECURITY: notary refuses RSA under 2048 bits; so do we, for every scheme.
      if (bits < MIN_RSA_BITS) return null;
      return { keyObject, kind, curve: '', bits, fixedSignatureLength: Math.ceil(bits / 8) };
    }
  }
}

/** The parsed form of `key`, or null when Signet cannot verify with it. Never throws. */
export function prepareKey(key: PublicKey): PreparedKey | null {
  let prepared = cache.get(key);
  if (prepared === undefined) {
    prepared = prepare(key);
    cache.set(key, prepared);
  }
  return prepared;
}

/**
 * node:crypto KeyObject of a public key, cached per PublicKey object; null for
 * keys that can verify nothing (unknown type, unsupported curve, RSA < 2048 bits).
 */
export function toKeyObject(key: PublicKey): KeyObject | null {
  return prepareKey(key)?.keyObject ?? null;
}

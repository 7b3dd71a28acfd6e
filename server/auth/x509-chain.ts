// SPDX-License-Identifier: Apache-2.0
// Certificate-chain checks for token signing keys, as Go's x509.Verify does
// them for docker/distribution's token auth (ExtKeyUsageAny): the leaf chains
// through CA intermediates to a certificate of the configured root bundle,
// every certificate in the chain is inside its validity window, and each
// signature verifies under its issuer's key. A leaf that is itself in the
// bundle is trusted directly (Go's Roots.contains shortcut).
// Not checked (Node does not expose them): path-length constraints, name
// constraints, unknown critical extensions.

import { X509Certificate } from 'node:crypto';

const MAX_DEPTH = 8;

/** Certificates of a PEM bundle; other PEM blocks are ignored as Go ignores them. */
export function parseCertificateBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

function validAt(cert: X509Certificate, now: Date): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return Number.isFinite(from) && Number.isFinite(to) && now.getTime() >= from && now.getTime() <= to;
}

function signedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/**
 * Whether `leaf` chains to one of `roots` through `intermediates` at `now`.
 * Returns null on success, or the reason (for debug logs) on failure.
 */
export function verifyChain(leaf: X509Certificate, intermediates: readonly X509Certificate[], roots: readonly X509Certificate[], now: Date): string | null {
  if (!validAt(leaf, now)) return 'leaf certificate is outside its validity period';
  if (roots.some((r) => r.raw.equals(leaf.raw))) return null;

  const visit = (cert: X509Certificate, depth: number, seen: Set<string>): boolean => {
    for (const root of roots) {
      if (validAt(root, now) && signedBy(cert, root)) return true;
    }
    if (depth >= MAX_DEPTH) return false;
    for (const mid of intermediates) {
      if (seen.has(mid.fingerprint256) || !mid.ca || !validAt(mid, now) || !signedBy(cert, mid)) continue;
      seen.add(mid.fingerprint256);
      if (visit(mid, depth + 1, seen)) return true;
      seen.delete(mid.fingerprint256);
    }
    return false;
  };
  return visit(leaf, 0, new Set([leaf.fingerprint256])) ? null : 'certificate chain does not lead to a trusted root';
}

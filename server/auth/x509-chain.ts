// SPDX-License-Identifier: Apache-2.0
// Certificate-chain checks for token signing keys, as Go's x509.Verify does
// them for docker/distribution's token auth (ExtKeyUsageAny): the leaf chains
// through CA intermediates to a certificate of the configured root bundle,
// every certificate in the chain is inside its validity window, and each
// signature verifies under its issuer's key. A leaf that is itself in the
// bundle is trusted directly (Go's Roots.contains shortcut).
// Also as Go does: BasicConstraints pathLenConstraint holds for intermediates
// and roots, and the leaf and intermediates may not be signed with SHA-1 or
// MD5 (shared/crypto's rule, which accepts SHA-256 or better only). A root's
// self-signature is not relied on, so it is not checked.
// Not checked (Node does not expose them): name constraints, unknown critical
// extensions.

import { X509Certificate } from 'node:crypto';
import { checkPathLength, checkSignatureAlgorithm } from '../../shared/crypto/index.js';

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
 * Returns null on success, or the reason (for debug logs) on failure: when the
 * only chains found break a rule (weak signature, path length), that rule.
 */
export function verifyChain(leaf: X509Certificate, intermediates: readonly X509Certificate[], roots: readonly X509Certificate[], now: Date): string | null {
  if (!validAt(leaf, now)) return 'leaf certificate is outside its validity period';
  if (roots.some((r) => r.raw.equals(leaf.raw))) return null;
  const weakLeaf = checkSignatureAlgorithm(leaf);
  if (weakLeaf !== null) return `leaf ${leaf.subject.replace(/\n/g, ', ')}: ${weakLeaf}`;

  let refusal: string | null = null;
  const refuse = (cert: X509Certificate, role: string, reason: string | null): boolean => {
    if (reason === null) return false;
    refusal ??= `${role} ${cert.subject.replace(/\n/g, ', ')}: ${reason}`;
    return true;
  };
  // `path` runs from the leaf to `cert`; an issuer of `cert` has path.length - 1 intermediates below it.
  const visit = (cert: X509Certificate, path: X509Certificate[], seen: Set<string>): boolean => {
    for (const root of roots) {
      if (validAt(root, now) && signedBy(cert, root) && !refuse(root, 'root', checkPathLength(root, path.length - 1))) return true;
    }
    if (path.length > MAX_DEPTH) return false;
    for (const mid of intermediates) {
      if (seen.has(mid.fingerprint256) || !mid.ca || !validAt(mid, now) || !signedBy(cert, mid)) continue;
      if (refuse(mid, 'intermediate', checkSignatureAlgorithm(mid) ?? checkPathLength(mid, path.length - 1))) continue;
      seen.add(mid.fingerprint256);
      if (visit(mid, [...path, mid], seen)) return true;
      seen.delete(mid.fingerprint256);
    }
    return false;
  };
  return visit(leaf, [leaf], new Set([leaf.fingerprint256])) ? null : (refusal ?? 'certificate chain does not lead to a trusted root');
}

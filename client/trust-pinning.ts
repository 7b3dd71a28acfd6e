// SPDX-License-Identifier: Apache-2.0
// The client's root trust policy (notary trustpinning.ValidateRoot's pinning
// step), applied to every root the client is about to trust, on top of the
// signature and certificate checks of shared/verify:
//   1. `trust_pinning.certs[gun]`, else the longest `certs["prefix*"]` whose
//      prefix starts the GUN: only root certificates with a pinned TUF key ID count;
//   2. else the longest `trust_pinning.ca` prefix of the GUN: only root
//      certificates that chain (through the intermediates in the root key's
//      bundle) to a valid CA of that bundle count;
//   3. else TOFU: every root certificate counts, but with `disable_tofu` a
//      first root (nothing cached) is refused.
// The root must then be signed by its own threshold of the counting keys.
// Pins (1, 2) are enforced on every root the client walks to, not only on first
// use. Stricter than notary, which drops the pins once a valid root is cached
// (client.bootstrapClient): here a rotation to keys outside the pins is refused
// until the operator updates trust_pinning, which is what a pin asks for. This
// module does not check CN, expiry or self-signatures; the verifier does.

import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { RepositoryError, TrustError, ConfigError } from '../shared/errors.js';
import type { Envelope, PublicKey, Root } from '../shared/tuf/model.js';
import { verifyDelegate } from '../shared/verify/index.js';
import type { TrustPinningConfig } from './config.js';

export type PinMode =
  | { readonly kind: 'certs'; readonly source: string; readonly keyIds: readonly string[] }
  | { readonly kind: 'ca'; readonly source: string; readonly caFile: string }
  | { readonly kind: 'tofu' };

/** Which pinning rule applies to `gun` (notary's precedence: exact certs, wildcard certs, CA prefix, TOFU). */
export function pinModeFor(gun: string, config: TrustPinningConfig): PinMode {
  const exact = config.certs.get(gun);
  if (exact !== undefined) return { kind: 'certs', source: `trust_pinning.certs["${gun}"]`, keyIds: exact };
  let best: { prefix: string; ids: readonly string[] } | null = null;
  for (const [pattern, ids] of config.certs) {
    if (!pattern.endsWith('*')) continue;
    const prefix = pattern.slice(0, -1);
    if (gun.startsWith(prefix) && (best === null || pattern.length > best.prefix.length + 1)) best = { prefix, ids };
  }
  if (best !== null) return { kind: 'certs', source: `trust_pinning.certs["${best.prefix}*"]`, keyIds: best.ids };
  let ca: { prefix: string; file: string } | null = null;
  for (const [prefix, file] of config.ca) {
    if (gun.startsWith(prefix) && (ca === null || prefix.length >= ca.prefix.length)) ca = { prefix, file };
  }
  if (ca !== null) return { kind: 'ca', source: `trust_pinning.ca["${ca.prefix}"]`, caFile: ca.file };
  return { kind: 'tofu' };
}

function loadCaBundle(file: string, source: string, now: Date): X509Certificate[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read the CA bundle ${file} named by ${source}; fix the path`, { cause });
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const valid: X509Certificate[] = [];
  for (const b of blocks) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(b);
    } catch {
      continue; // notary skips unparsable bundle entries too
    }
    if (inValidity(cert, now)) valid.push(cert);
  }
  if (valid.length === 0) throw new ConfigError(`the CA bundle ${file} named by ${source} holds no currently valid certificate`);
  return valid;
}

function inValidity(cert: X509Certificate, now: Date): boolean {
  return Date.parse(cert.validFrom) <= now.getTime() && now.getTime() <= Date.parse(cert.validTo);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** Whether `leaf` chains to one of `roots` through `intermediates`, every certificate valid at `now` (Go x509 Verify, simplified). */
export function chainsToCa(leaf: X509Certificate, intermediates: readonly X509Certificate[], roots: readonly X509Certificate[], now: Date): boolean {
  if (!inValidity(leaf, now)) return false;
  // Go: a certificate that is itself in the root pool verifies as a one-element chain.
  if (roots.some((r) => r.raw.equals(leaf.raw))) return true;
  let current = leaf;
  const unused = [...intermediates];
  for (let depth = 0; depth <= intermediates.length; depth++) {
    if (roots.some((r) => r.ca && issuedBy(current, r))) return true;
    const i = unused.findIndex((c) => c.ca && inValidity(c, now) && issuedBy(current, c));
    if (i < 0) return false;
    current = unused.splice(i, 1)[0]!;
  }
  return false;
}

export interface PinCheckOptions {
  readonly gun: string;
  readonly config: TrustPinningConfig;
  /** True when no root of this GUN is trusted yet (nothing cached): `disable_tofu` applies. */
  readonly firstUse: boolean;
  readonly now: Date;
}

/**
 * Enforce the pinning policy on a root about to be trusted.
 * @throws {RepositoryError} UNTRUSTED_ROOT when no root certificate satisfies the pins, when the
 *   pinned certificates do not meet the root threshold, or on first use with TOFU disabled.
 * @throws {ConfigError} when a pinned CA bundle cannot be used.
 */
export function checkRootPinning(root: Envelope<Root>, options: PinCheckOptions): void {
  const { gun, config, now } = options;
  const mode = pinModeFor(gun, config);
  if (mode.kind === 'tofu') {
    if (config.disableTofu && options.firstUse) {
      throw new RepositoryError('UNTRUSTED_ROOT', `no trusted root for ${gun} yet, trust_pinning.disable_tofu is set, and no trust_pinning.certs or trust_pinning.ca entry covers ${gun}; pin its root certificate ID or CA in the config`);
    }
    return;
  }
  const roots = mode.kind === 'ca' ? loadCaBundle(mode.caFile, mode.source, now) : [];
  const rootRole = root.signed.roles.get('root');
  const pinned = new Map<string, PublicKey>();
  for (const keyId of rootRole?.keyIds ?? []) {
    const key = root.signed.keys.get(keyId);
    const [leaf, ...intermediates] = key?.certificates ?? [];
    if (key === undefined || leaf === undefined) continue;
    const ok = mode.kind === 'certs' ? mode.keyIds.includes(key.id) : chainsToCa(leaf, intermediates, roots, now);
    if (ok) pinned.set(keyId, key);
  }
  const how = mode.kind === 'certs' ? `has none of the key IDs pinned by ${mode.source}` : `has no certificate chaining to the CA pinned by ${mode.source} (${mode.caFile})`;
  if (pinned.size === 0 || rootRole === undefined) {
    throw new RepositoryError('UNTRUSTED_ROOT', `root version ${root.signed.version} of ${gun} ${how}; the server may be serving a forged root, or the pin is out of date`);
  }
  try {
    verifyDelegate('root', pinned, rootRole, root);
  } catch (cause) {
    if (!(cause instanceof TrustError)) throw cause;
    throw new RepositoryError('UNTRUSTED_ROOT', `root version ${root.signed.version} of ${gun} is not signed by its threshold of the root keys allowed by ${mode.source} (${cause.message})`, { cause });
  }
}

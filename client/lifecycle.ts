// SPDX-License-Identifier: Apache-2.0
// Key lifecycle safety, so that no key change bricks a repository (the most
// common notary complaint):
//   - signRootSuccessor: sign a new root and refuse it unless a client that
//     trusted the current root would accept it (shared verifyRootUpdate: the
//     old root's threshold of old keys AND the new root's own threshold), for
//     rotations and for every root publish.ts re-signs (key changes staged in
//     the changelist, notary's near-expiry re-sign);
//   - expiryWarnings: roles and certificates that expire within 6 months;
//   - removalBlockers: which cached repositories a key's removal would leave
//     with fewer signing keys than a role's threshold.

import fs from 'node:fs';
import path from 'node:path';
import { TrustError, UnsafeKeyChangeError } from '../shared/errors.js';
import { notaryCodec } from '../shared/codec/notary.js';
import { canonicalKeyId } from '../shared/codec/notary-keys.js';
import type { Envelope, PublicKey, RoleName, Root, Signer, Snapshot, Targets } from '../shared/tuf/model.js';
import { notaryRootKeyRules, verifyRootUpdate } from '../shared/verify/index.js';
import { signMetadata } from './metadata.js';

/** notary nearExpiry: within 6 calendar months (Go AddDate(0, 6, 0)). */
export function nearExpiryCutoff(now: Date): Date {
  const d = new Date(now.getTime());
  d.setUTCMonth(d.getUTCMonth() + 6);
  return d;
}

export function expiresWithinSixMonths(expiresMs: number, now: Date): boolean {
  return expiresMs < nearExpiryCutoff(now).getTime();
}

function when(ms: number, text: string, now: Date): string {
  const days = Math.round((ms - now.getTime()) / 86_400_000);
  return ms < now.getTime() ? `expired at ${text} (${-days} days ago)` : `expires at ${text} (in ${days} days)`;
}

/**
 * Sign `next` as the successor of `current` and prove that a client trusting
 * `current` follows it.
 * @throws {UnsafeKeyChangeError} naming what is missing; nothing has been sent or written then.
 */
export async function signRootSuccessor(gun: string, current: Envelope<Root>, next: Root, signers: readonly Signer[], now: Date): Promise<Envelope<Root>> {
  const env = await signMetadata(next, signers, 'root');
  assertRootSuccessor(gun, current, env, now);
  return env;
}

/** Refuse a new root that a client trusting `current` would reject. @throws {UnsafeKeyChangeError} naming what is missing. */
function assertRootSuccessor(gun: string, current: Envelope<Root>, next: Envelope<Root>, now: Date): void {
  try {
    verifyRootUpdate(current, next, { gun, now, rules: notaryRootKeyRules, versionSteps: [1] });
  } catch (cause) {
    if (!(cause instanceof TrustError)) throw cause;
    throw new UnsafeKeyChangeError(
      `refusing to publish root version ${next.signed.version} of ${gun}: a client that trusts version ${current.signed.version} would reject it (${cause.message}). ` +
        'Nothing was sent or written. Import the missing root key(s) with `signet key import`, then retry',
      { cause },
    );
  }
}

/**
 * expiryWarnings for the state a publish leaves behind: the uploaded root when there is one, the
 * uploaded targets roles (`signed`) for the certificates of the delegations they list, but no
 * warning about the expiry of a role this publish re-signed, nor about the snapshot (every accepted
 * publish leaves a new one, signed here or by the server).
 */
export function publishWarnings(
  gun: string,
  state: { readonly root: Envelope<Root>; readonly targets: ReadonlyMap<RoleName, Envelope<Targets>> },
  uploaded: ReadonlyMap<RoleName, Uint8Array>,
  signed: ReadonlyMap<RoleName, Envelope<Targets>>,
  now: Date,
): string[] {
  const rootBytes = uploaded.get('root');
  const root = rootBytes === undefined ? state.root : notaryCodec.parse(rootBytes, 'root');
  const targets = new Map([...state.targets, ...signed]);
  return expiryWarnings({ gun, root, targets, fresh: new Set(signed.keys()) }, now);
}

/** The root keys `root` lists for the root role. */
export function rootRoleKeys(root: Root): PublicKey[] {
  return (root.roles.get('root')?.keyIds ?? []).flatMap((id) => root.keys.get(id) ?? []);
}

export interface ExpiryView {
  readonly gun: string;
  readonly root: Envelope<Root>;
  readonly snapshot?: Envelope<Snapshot> | undefined;
  /** Loaded targets roles by name (`targets`, delegations). */
  readonly targets?: ReadonlyMap<RoleName, Envelope<Targets>>;
  /** Targets roles just re-signed: their own expiry is not warned about (their delegates' certificates are). */
  readonly fresh?: ReadonlySet<RoleName>;
}

function certificateExpiry(key: PublicKey): { ms: number; text: string; cn: string } | null {
  const leaf = key.certificates[0];
  if (leaf === undefined) return null;
  const ms = Date.parse(leaf.validTo);
  const cn = /CN=([^\n]*)/.exec(leaf.subject)?.[1] ?? leaf.subject;
  return Number.isNaN(ms) ? null : { ms, text: new Date(ms).toISOString(), cn };
}

/**
 * Warnings (for stderr) about metadata and signer certificates of `view` that
 * expire within 6 months of `now`, each naming what to run. The timestamp is
 * left out: it lives 14 days by design and the server re-signs it.
 */
export function expiryWarnings(view: ExpiryView, now: Date): string[] {
  const { gun } = view;
  const out: string[] = [];
  const soon = (ms: number): boolean => expiresWithinSixMonths(ms, now);
  const root = view.root.signed;
  if (soon(root.expires.ms)) out.push(`root metadata of ${gun} ${when(root.expires.ms, root.expires.text, now)}; a publish by the root key holder re-signs it (signet publish ${gun})`);
  for (const [role, env] of view.targets ?? []) {
    const t = env.signed;
    if (soon(t.expires.ms) && view.fresh?.has(role) !== true) {
      const fix = role === 'targets' ? `publish a change to ${gun} with the targets key` : `a holder of a ${role} key must publish to it`;
      out.push(`${role} metadata of ${gun} ${when(t.expires.ms, t.expires.text, now)}; ${fix} to re-sign it`);
    }
  }
  const snap = view.snapshot?.signed;
  if (snap !== undefined && soon(snap.expires.ms)) out.push(`snapshot metadata of ${gun} ${when(snap.expires.ms, snap.expires.text, now)}; publishing re-signs it`);
  const seen = new Set<string>();
  for (const key of rootRoleKeys(root)) {
    const c = certificateExpiry(key);
    if (c === null || !soon(c.ms) || seen.has(key.id)) continue;
    seen.add(key.id);
    out.push(`root certificate ${canonicalKeyId(key)} (CN=${c.cn}) of ${gun} ${when(c.ms, c.text, now)}; clients refuse an expired root certificate: rotate it with \`signet key rotate ${gun} root\``);
  }
  for (const [parent, env] of view.targets ?? []) {
    const d = env.signed.delegations;
    if (d === null) continue;
    for (const r of d.roles) {
      for (const id of r.keyIds) {
        const key = d.keys.get(id);
        const c = key === undefined ? null : certificateExpiry(key);
        if (key === undefined || c === null || !soon(c.ms) || seen.has(`${r.name}:${id}`)) continue;
        seen.add(`${r.name}:${id}`);
        out.push(`certificate ${canonicalKeyId(key)} (CN=${c.cn}) of signer role ${r.name} (delegated by ${parent}) ${when(c.ms, c.text, now)}; add a key with a new certificate to ${r.name}, then remove this one`);
      }
    }
  }
  return out;
}

export interface RemovalBlocker {
  readonly gun: string;
  readonly role: RoleName;
  readonly threshold: number;
  /** Signing keys of the role this key store would still hold. */
  readonly remaining: number;
}

/** GUNs with a cached root below `<trustDir>/tuf`. */
function cachedGuns(trustDir: string): string[] {
  const base = path.join(trustDir, 'tuf');
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 32) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (e.name === 'metadata' && fs.existsSync(path.join(p, 'root.json'))) out.push(path.relative(base, dir).split(path.sep).join('/'));
      else if (e.name !== 'changelist') walk(p, depth + 1);
    }
  };
  walk(base, 0);
  return out.sort();
}

function readParsed<T extends 'root' | 'targets'>(file: string, type: T, roleName?: string) {
  try {
    return notaryCodec.parse(fs.readFileSync(file), type, roleName === undefined ? {} : { roleName });
  } catch {
    return undefined; // an unreadable cache entry signs nothing: it cannot block a removal
  }
}

/**
 * The roles of cached repositories that list `keyId` (canonical) and would be
 * left with fewer held keys than their threshold once it is gone.
 */
export function removalBlockers(trustDir: string, keyId: string, heldKeyIds: ReadonlySet<string>): RemovalBlocker[] {
  const out: RemovalBlocker[] = [];
  const check = (gun: string, role: RoleName, listed: readonly PublicKey[], threshold: number): void => {
    const ids = new Set(listed.map(canonicalKeyId));
    if (!ids.has(keyId)) return;
    const remaining = [...ids].filter((id) => id !== keyId && heldKeyIds.has(id)).length;
    if (remaining < threshold) out.push({ gun, role, threshold, remaining });
  };
  for (const gun of cachedGuns(trustDir)) {
    const meta = path.join(trustDir, 'tuf', ...gun.split('/'), 'metadata');
    const root = readParsed(path.join(meta, 'root.json'), 'root')?.signed;
    if (root === undefined) continue;
    for (const [role, entry] of root.roles) {
      if (!['root', 'targets', 'snapshot', 'timestamp'].includes(role)) continue;
      check(gun, role, entry.keyIds.flatMap((id) => root.keys.get(id) ?? []), entry.threshold);
    }
    const pending: Array<[RoleName, string]> = [['targets', path.join(meta, 'targets.json')]];
    // bounded: a cache is not trusted input, so a pathological one must not hang `key remove`
    for (let item = pending.shift(), n = 0; item !== undefined && n < 10_000; item = pending.shift(), n++) {
      const [role, file] = item;
      const delegations = readParsed(file, 'targets', role)?.signed.delegations;
      for (const d of delegations?.roles ?? []) {
        check(gun, d.name, d.keyIds.flatMap((id) => delegations!.keys.get(id) ?? []), d.threshold);
        pending.push([d.name, path.join(meta, ...`${d.name}.json`.split('/'))]);
      }
    }
  }
  return out;
}

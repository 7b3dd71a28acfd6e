// SPDX-License-Identifier: Apache-2.0
// Target operations beyond `add`: staging by hash (`addhash`), removal,
// checking content against the trusted hashes (`verify`), and the roles a CI
// `sign` writes to when none are named (docker trust's GetSignableRoles).

import fs from 'node:fs';
import { LengthOrHashMismatchError, UsageError } from '../shared/errors.js';
import { canonicalKeyId } from '../shared/codec/notary-keys.js';
import { firstHashMismatch, RECOGNISED_HASHES } from '../shared/tuf/file-meta.js';
import { isTargetsRoleName } from '../shared/tuf/names.js';
import type { RoleName, TargetFile } from '../shared/tuf/model.js';
import { isTargetInScope, parentOf, TARGETS_SCOPE, childScope, type TargetMatch, type TrustedMetadataSet } from '../shared/verify/index.js';
import type { CryptoService } from '../keys/index.js';
import type { Change } from './changelist.js';
import { targetChange } from './changes.js';
import { checkCustomData, checkTargetName, encodeFileMeta } from './metadata.js';

/** Roles to stage in: the given ones (checked), or `targets`. @throws {UsageError} */
export function targetRoles(roles: readonly string[] | undefined): RoleName[] {
  const out = roles !== undefined && roles.length > 0 ? [...new Set(roles)] : ['targets'];
  for (const r of out) {
    if (!isTargetsRoleName(r)) throw new UsageError(`role ${JSON.stringify(r)} cannot hold targets: use targets or a delegation such as targets/releases`);
  }
  return out;
}

/** A size argument: a non-negative decimal integer. @throws {UsageError} */
export function parseSize(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`size must be a number of bytes such as 1024, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Hex digests from --sha256/--sha512. @throws {UsageError} */
export function parseHexHashes(hex: { sha256?: string; sha512?: string }): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const alg of ['sha256', 'sha512'] as const) {
    const v = hex[alg];
    if (v === undefined) continue;
    const size = RECOGNISED_HASHES[alg]!;
    if (!new RegExp(`^[0-9a-fA-F]{${size * 2}}$`).test(v)) throw new UsageError(`--${alg} must be ${size * 2} hex digits, got ${JSON.stringify(v)}`);
    out.set(alg, Buffer.from(v, 'hex'));
  }
  if (out.size === 0) throw new UsageError('give at least one hash: --sha256 <hex> and/or --sha512 <hex>');
  return out;
}

export interface TargetByHash {
  readonly name: string;
  readonly length: number;
  readonly hashes: ReadonlyMap<string, Buffer>;
  readonly customFile?: string;
}

/** Changes that add a target given by hashes to each role. @throws {UsageError} */
export function addHashChanges(t: TargetByHash, roles: readonly RoleName[]): Change[] {
  checkTargetName(t.name);
  let custom;
  if (t.customFile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(t.customFile, 'utf8');
    } catch (cause) {
      throw new UsageError(`cannot read custom data file ${t.customFile} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
    }
    custom = checkCustomData(text, t.customFile);
  }
  const meta: TargetFile = { length: t.length, hashes: t.hashes, ...(custom === undefined ? {} : { custom }) };
  const data = encodeFileMeta(meta);
  return roles.map((role) => targetChange('create', role, t.name, data));
}

export function removeChanges(name: string, roles: readonly RoleName[]): Change[] {
  checkTargetName(name);
  return roles.map((role) => targetChange('delete', role, name, null));
}

/** A docker content digest `sha256:<64 hex>` as raw bytes. @throws {UsageError} */
export function parseDigest(digest: string): Buffer {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (m === null) throw new UsageError(`--digest must be sha256:<64 lower-case hex digits> (the manifest digest docker prints), got ${JSON.stringify(digest)}`);
  return Buffer.from(m[1]!, 'hex');
}

/**
 * Check content against the trusted target: the length and every recognised
 * hash must match (notary checks the hashes only).
 * @throws {LengthOrHashMismatchError}
 */
export function checkContent(content: Buffer, match: TargetMatch): void {
  const { target } = match;
  if (content.length !== target.length) {
    throw new LengthOrHashMismatchError('LENGTH_MISMATCH', `the data is ${content.length} bytes but ${match.name} is ${target.length} bytes in ${match.role}: it is not the trusted content`);
  }
  const mismatch = firstHashMismatch(content, target.hashes);
  if (mismatch === 'unverifiable') throw new LengthOrHashMismatchError('HASH_MISMATCH', `${match.name} has no sha256 or sha512 in ${match.role}, so no content can be verified against it`);
  if (mismatch !== null) {
    throw new LengthOrHashMismatchError('HASH_MISMATCH', `the data does not match the trusted ${mismatch.alg} of ${match.name} in ${match.role}: it is not the trusted content`);
  }
}

/**
 * docker trust's choice of roles for `sign` without -r: `targets` when the
 * repository has no delegations; else every direct child of `targets` whose
 * paths cover `name` and whose keys we hold.
 * @throws {UsageError} when there are delegations but we hold none of their keys.
 */
export async function signableRoles(set: TrustedMetadataSet, name: string, keys: CryptoService): Promise<RoleName[]> {
  const hasDelegations = set.loadedTargetsRoles.some((r) => (set.getTargets(r)?.signed.delegations?.roles.length ?? 0) > 0);
  if (!hasDelegations) return ['targets'];
  const top = set.targets?.signed.delegations;
  const out: RoleName[] = [];
  for (const role of top?.roles ?? []) {
    if (parentOf(role.name) !== 'targets' || !isTargetInScope(name, childScope(TARGETS_SCOPE, role))) continue;
    for (const id of role.keyIds) {
      const k = top!.keys.get(id);
      if (k !== undefined && (await keys.has(canonicalKeyId(k)))) {
        out.push(role.name);
        break;
      }
    }
  }
  if (out.length === 0) {
    throw new UsageError(`no valid signing keys for the delegation roles of ${name}: import a delegation key (\`signet key import\`), or name the role with -r`);
  }
  return out;
}

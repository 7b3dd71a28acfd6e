// SPDX-License-Identifier: Apache-2.0
// Build the full TUF chain of one repository from stored metadata, exactly as
// a client would: the anchor root (the last root this process verified, else
// version 1), each later root signed by its predecessor, then timestamp ->
// snapshot -> targets -> every delegation the snapshot records, all through
// the shared TrustedMetadataSet with expiry at `now`. Database rows are never
// taken on trust: a tampered row fails its signature or hash here. Snapshot,
// targets and delegations are fetched by the sha256 their verified parent
// records, so a publish landing mid-build cannot mix two versions.

import { notaryCodec } from '../../shared/codec/notary.js';
import type { SignedOf } from '../../shared/codec/codec.js';
import { RepositoryError, TrustError } from '../../shared/errors.js';
import type { FileMeta, PublicKey, RoleName } from '../../shared/tuf/model.js';
import { MAX_ROOT_VERSIONS_WALKED } from '../../shared/verify/root.js';
import { notaryRootKeyRules } from '../../shared/verify/root-key-rules.js';
import { TrustedMetadataSet } from '../../shared/verify/trusted-set.js';
import { delegationOrder } from '../../shared/verify/walk.js';
import { rootRoleKeys } from '../../shared/policy/view.js';
import type { TrustService } from '../domain/service.js';
import type { StoredFile } from '../storage/meta-store.js';

/** Most root versions walked in one check, and most delegations loaded. */
const MAX_ROLES = 512;

export interface VerifiedChain {
  readonly set: TrustedMetadataSet;
  /** Root-role keys of the root the walk started from (what pins are checked against). */
  readonly anchorRootKeys: readonly PublicKey[];
  /** Raw bytes of the final trusted root (the next walk starts here). */
  readonly rootBytes: Buffer;
  readonly timestampBytes: Buffer;
  readonly timestampStoredAt: Date;
  /** Earliest `expires` of everything loaded: the chain must be rebuilt by then. */
  readonly validUntil: number;
}

export interface Anchor {
  readonly rootBytes: Buffer;
  readonly anchorRootKeys: readonly PublicKey[];
}

/** The repository has no trust data at all. */
export class NoTrustDataError extends RepositoryError {
  constructor(gun: string) {
    super('METADATA_NOT_FOUND', `no trust data is stored for ${gun}; sign the image with signet or notary first`);
  }
}

/** Immutable file bytes by `gun\0role\0sha256`, shared across builds. */
export type FileBytesCache = Map<string, Buffer>;
const MAX_CACHED_FILES = 20_000;

/** An unverified parse, only to learn which file to read next; null when it does not parse (verification then says why). */
function peek<T extends 'timestamp' | 'snapshot'>(bytes: Buffer, type: T): SignedOf<T> | null {
  try {
    return notaryCodec.parse(bytes, type, { roleName: type }).signed;
  } catch (error) {
    if (error instanceof TrustError) return null;
    throw error;
  }
}

/**
 * @throws {NoTrustDataError} when nothing is stored for `gun`.
 * @throws {RepositoryError} (and subclasses) when any part of the chain fails verification.
 */
export async function buildChain(service: TrustService, gun: string, now: Date, anchor: Anchor | undefined, signal: AbortSignal, files: FileBytesCache = new Map()): Promise<VerifiedChain> {
  // Content-addressed files (by the sha256 the timestamp/snapshot record) never change, so their
  // bytes may come from `files`; they are verified in full all the same.
  const fetchBy = async (key: string, read: () => Promise<StoredFile | null>): Promise<Buffer | null> => {
    signal.throwIfAborted();
    const known = files.get(key);
    if (known !== undefined) return known;
    const file = await read();
    if (file === null) return null;
    if (files.size >= MAX_CACHED_FILES) files.clear();
    files.set(key, file.data);
    return file.data;
  };
  const byHash = async (role: RoleName, meta: FileMeta | undefined): Promise<Buffer> => {
    const hex = meta?.hashes.get('sha256')?.toString('hex');
    const data = hex === undefined ? (await service.getCurrent(gun, role))?.data ?? null : await fetchBy(`${gun}\0${role}\0${hex}`, () => service.getByChecksum(gun, role, hex));
    if (data === null) throw new RepositoryError('MISSING_META', `${gun} has no stored ${role} matching what its ${role === 'snapshot' ? 'timestamp' : 'snapshot'} records`);
    return data;
  };
  // Roots by version are read, not cached: a DELETE and a new `init` give the same versions other bytes.
  const rootVersion = async (v: number): Promise<Buffer | null> => {
    signal.throwIfAborted();
    return (await service.getByVersion(gun, 'root', v))?.data ?? null;
  };
  // One database read when nothing changed: the timestamp. Snapshot and root are then located by the
  // hashes it and the snapshot record (as a notary client does), so they usually come from `files`.
  // These peeks only choose what to read; everything read is verified below in TUF order.
  const [first, timestamp] = await Promise.all([anchor === undefined ? rootVersion(1) : Promise.resolve(null), service.getCurrent(gun, 'timestamp')]);
  if (timestamp === null) {
    if ((await service.getCurrent(gun, 'root')) === null) throw new NoTrustDataError(gun);
    throw new RepositoryError('MISSING_META', `${gun} has no timestamp stored; its trust data is incomplete`);
  }
  const snapshotBytes = await byHash('snapshot', peek(timestamp.data, 'timestamp')?.meta.get('snapshot'));
  const namedRoot = peek(snapshotBytes, 'snapshot')?.meta.get('root')?.hashes.get('sha256')?.toString('hex');
  const startBytes = anchor?.rootBytes ?? first;
  const newestBytes = namedRoot === undefined ? (await service.getCurrent(gun, 'root'))?.data : await fetchBy(`${gun}\0root\0${namedRoot}`, () => service.getByChecksum(gun, 'root', namedRoot));
  if (startBytes === undefined || startBytes === null) throw new NoTrustDataError(gun);
  if (newestBytes === undefined || newestBytes === null) throw new RepositoryError('MISSING_META', `the snapshot of ${gun} records a root that is not stored, so the root chain is broken`);
  const set = new TrustedMetadataSet(startBytes, { gun, now, codec: notaryCodec, rules: notaryRootKeyRules });
  const anchorRootKeys = anchor?.anchorRootKeys ?? rootRoleKeys(set);
  // Follow legitimate rotations one version at a time, each signed by the previous root.
  const newest = newestBytes.equals(startBytes) ? set.root.signed.version : notaryCodec.parse(newestBytes, 'root').signed.version;
  if (newest - set.root.signed.version > MAX_ROOT_VERSIONS_WALKED) throw new RepositoryError('BAD_ROOT', `${gun} has more than ${MAX_ROOT_VERSIONS_WALKED} root versions to walk`);
  const versions = Array.from({ length: Math.max(0, newest - set.root.signed.version) }, (_, i) => set.root.signed.version + 1 + i);
  const roots = await Promise.all(versions.map((v) => rootVersion(v)));
  for (const [i, next] of roots.entries()) {
    if (next === null) throw new RepositoryError('MISSING_META', `${gun} has no root version ${versions[i] ?? '?'} stored, so the root chain is broken`);
    set.updateRoot(next);
  }
  set.updateTimestamp(timestamp.data);
  // Snapshot and targets are read by the hashes the verified timestamp/snapshot record: consistent even during a publish.
  set.updateSnapshot(snapshotBytes);
  if (set.rootUpdateNeeded()) {
    throw new RepositoryError('BAD_ROOT', `the snapshot of ${gun} records a root other than the newest root reachable from the trusted one; the stored roots do not form a chain`);
  }
  const snapshotMeta = set.snapshot?.signed.meta ?? new Map<RoleName, FileMeta>();
  const roles = [...snapshotMeta.keys()].filter((r) => r === 'targets' || r.startsWith('targets/'));
  if (roles.length > MAX_ROLES) throw new RepositoryError('BAD_DELEGATION', `${gun} has more than ${MAX_ROLES} delegations; too many to verify for a policy check`);
  const bytes = new Map(await Promise.all(roles.map(async (r) => [r, await byHash(r, snapshotMeta.get(r))] as const)));
  const targetsBytes = bytes.get('targets');
  if (targetsBytes === undefined) throw new RepositoryError('MISSING_META', `the snapshot of ${gun} records no targets`);
  set.updateTargets(targetsBytes);
  // Delegations in the client's order (delegations never published are absent from the snapshot
  // and vouch for nothing); unlike a client, one that fails verification fails the whole check.
  const walk = delegationOrder(set);
  for (let step = walk.next(); step.done !== true; ) {
    const { role, parent } = step.value;
    const data = bytes.get(role);
    const load = data !== undefined && set.getTargets(role) === undefined;
    if (load) set.updateDelegatedTargets(data, role, parent);
    step = walk.next(load);
  }
  const expiries = [set.root.signed.expires.ms, set.timestamp?.signed.expires.ms, set.snapshot?.signed.expires.ms, ...set.loadedTargetsRoles.map((r) => set.getTargets(r)?.signed.expires.ms)];
  const validUntil = Math.min(...expiries.filter((e): e is number => e !== undefined));
  return { set, anchorRootKeys, rootBytes: set.root.raw, timestampBytes: timestamp.data, timestampStoredAt: timestamp.createdAt, validUntil };
}

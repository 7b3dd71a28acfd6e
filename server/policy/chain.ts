// SPDX-License-Identifier: Apache-2.0
// Build the full TUF chain of one repository from stored metadata, exactly as
// a client would: the anchor root (the last root this process verified, else
// version 1), each later root signed by its predecessor, then timestamp ->
// snapshot -> targets -> every delegation the snapshot records, all through
// the shared TrustedMetadataSet with expiry at `now`. Database rows are never
// taken on trust: a tampered row fails its signature or hash here.

import { notaryCodec } from '../../shared/codec/notary.js';
import { RepositoryError } from '../../shared/errors.js';
import type { Envelope, PublicKey, RoleName, Root } from '../../shared/tuf/model.js';
import { notaryRootKeyRules } from '../../shared/verify/root-key-rules.js';
import { TrustedMetadataSet } from '../../shared/verify/trusted-set.js';
import type { TrustService } from '../domain/service.js';

/** Most root versions walked in one check, and most delegations loaded. */
const MAX_ROOT_STEPS = 1000;
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

function rootKeys(root: Envelope<Root>): PublicKey[] {
  const ids = root.signed.roles.get('root')?.keyIds ?? [];
  return ids.map((id) => root.signed.keys.get(id)).filter((k): k is PublicKey => k !== undefined);
}

/** The repository has no trust data at all. */
export class NoTrustDataError extends RepositoryError {
  constructor(gun: string) {
    super('METADATA_NOT_FOUND', `no trust data is stored for ${gun}; sign the image with signet or notary first`);
  }
}

/**
 * @throws {NoTrustDataError} when nothing is stored for `gun`.
 * @throws {RepositoryError} (and subclasses) when any part of the chain fails verification.
 */
export async function buildChain(service: TrustService, gun: string, now: Date, anchor: Anchor | undefined, signal: AbortSignal): Promise<VerifiedChain> {
  const get = async (role: RoleName): Promise<Buffer> => {
    signal.throwIfAborted();
    const file = await service.getCurrent(gun, role);
    if (file === null) throw new RepositoryError('MISSING_META', `${gun} has no ${role} metadata stored, though the snapshot records it`);
    return file.data;
  };
  let startBytes = anchor?.rootBytes;
  if (startBytes === undefined) {
    const first = (await service.getByVersion(gun, 'root', 1)) ?? (await service.getCurrent(gun, 'root'));
    if (first === null) throw new NoTrustDataError(gun);
    startBytes = first.data;
  }
  const set = new TrustedMetadataSet(startBytes, { gun, now, codec: notaryCodec, rules: notaryRootKeyRules });
  const anchorRootKeys = anchor?.anchorRootKeys ?? rootKeys(set.root);
  // Follow legitimate rotations one version at a time, each signed by the previous root.
  for (let step = 0; step < MAX_ROOT_STEPS; step++) {
    signal.throwIfAborted();
    const next = await service.getByVersion(gun, 'root', set.root.signed.version + 1);
    if (next === null) break;
    set.updateRoot(next.data);
  }
  const timestamp = await service.getCurrent(gun, 'timestamp');
  if (timestamp === null) throw new RepositoryError('MISSING_META', `${gun} has no timestamp stored; its trust data is incomplete`);
  set.updateTimestamp(timestamp.data);
  set.updateSnapshot(await get('snapshot'));
  if (set.rootUpdateNeeded()) {
    throw new RepositoryError('BAD_ROOT', `the snapshot of ${gun} records a root other than the newest root reachable from the trusted one; the stored roots do not form a chain`);
  }
  set.updateTargets(await get('targets'));
  const snapshotMeta = set.snapshot?.signed.meta ?? new Map();
  const queue: RoleName[] = ['targets'];
  let loaded = 1;
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const child of set.getTargets(parent)?.signed.delegations?.roles ?? []) {
      // Delegations never published are absent from the snapshot; they vouch for nothing.
      if (!snapshotMeta.has(child.name) || set.getTargets(child.name) !== undefined) continue;
      if (++loaded > MAX_ROLES) throw new RepositoryError('BAD_DELEGATION', `${gun} has more than ${MAX_ROLES} delegations; too many to verify for a policy check`);
      set.updateDelegatedTargets(await get(child.name), child.name, parent);
      queue.push(child.name);
    }
  }
  const expiries = [set.root.signed.expires.ms, set.timestamp?.signed.expires.ms, set.snapshot?.signed.expires.ms, ...set.loadedTargetsRoles.map((r) => set.getTargets(r)?.signed.expires.ms)];
  const validUntil = Math.min(...expiries.filter((e): e is number => e !== undefined));
  return { set, anchorRootKeys, rootBytes: set.root.raw, timestampBytes: timestamp.data, timestampStoredAt: timestamp.createdAt, validUntil };
}

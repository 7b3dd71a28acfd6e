// SPDX-License-Identifier: Apache-2.0
// Refresh a GUN's trusted metadata from the server, notary's client order
// (notary-wire.md 4.3), every byte through TrustedMetadataSet:
//   root     the cached root is the anchor; without one, the server's
//            root.json is trusted on first use, subject to trust pinning;
//   1        timestamp.json (cached copy loaded first, for rollback checks);
//   2        snapshot by hash (cached copy if it matches), then: if the
//            snapshot's root hash differs from the trusted root, walk the root
//            versions to the new one and start over;
//   3        targets by hash (cache first), then delegations depth-first in
//            pre-order, skipping (with a warning) those that expired or fall
//            short of their threshold, as notary does; any other failure of a
//            delegation fails the refresh.
// A verification failure with the cached root triggers one root refresh and
// one retry (the root may have rotated keys). Nothing is written here: the
// caller persists `downloads` once it is done, so a failed command leaves the
// cache as it was.

import { notaryCodec } from '../shared/codec/notary.js';
import { DeserializationError, RemoteError, RepositoryError, ExpiredMetadataError, EqualVersionError, LengthOrHashMismatchError } from '../shared/errors.js';
import type { FileMeta, RoleName } from '../shared/tuf/model.js';
import { verifyLengthAndHashes } from '../shared/tuf/file-meta.js';
import { delegationOrder, isExpired, isSkippableDelegationFailure, MAX_ROOT_VERSIONS_WALKED, notaryRootKeyRules, TrustedMetadataSet } from '../shared/verify/index.js';
import type { MetadataCache } from './cache.js';
import type { TrustPinningConfig } from './config.js';
import { MAX_DOWNLOAD_LENGTH, type NotaryRemote } from './remote.js';
import { checkRootPinning } from './trust-pinning.js';

/** The server has no trust data for the GUN (never published, or deleted). */
export class RepositoryMissingError extends RemoteError {}

export interface RefreshContext {
  readonly gun: string;
  readonly remote: NotaryRemote;
  readonly cache: MetadataCache;
  readonly pinning: TrustPinningConfig;
  readonly now: Date;
}

export interface RefreshResult {
  readonly set: TrustedMetadataSet;
  /** Verified bytes to cache, by role (root only when it changed). */
  readonly downloads: Map<RoleName, Buffer>;
  /** Delegations skipped because they did not verify. */
  readonly warnings: string[];
}

class RootChanged extends Error {
  constructor(readonly meta: FileMeta) {
    super('the snapshot records a different root');
  }
}

function sha256Hex(meta: FileMeta, role: string): string {
  const h = meta.hashes.get('sha256');
  if (h === undefined) throw new RepositoryError('MISSING_META', `no sha256 is recorded for ${role}, so it cannot be fetched by hash`);
  return h.toString('hex');
}

function matches(bytes: Buffer | null, meta: FileMeta, role: string): bytes is Buffer {
  if (bytes === null) return false;
  try {
    verifyLengthAndHashes(bytes, meta, role);
    return true;
  } catch {
    return false;
  }
}

function cachedVersion(bytes: Buffer | null, role: string): number | undefined {
  if (bytes === null) return undefined;
  try {
    return notaryCodec.parse(bytes, 'targets', { roleName: role }).signed.version;
  } catch {
    return undefined; // an unreadable cache entry gives no rollback floor, as in notary
  }
}

/** Bytes that do not even start like a JSON object: an HTML page, a proxy's answer, a truncated or empty file. */
function notJson(bytes: Uint8Array, e: DeserializationError): boolean {
  if (e.code === 'MALFORMED_JSON') return true;
  const first = Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart();
  return !first.startsWith('{');
}

/**
 * Run `use` on metadata bytes from the server; a failure to parse them (DeserializationError) is
 * rethrown, same class and code, with a message naming the role, the GUN and the server, and a remedy.
 */
function fromServer<T>(ctx: RefreshContext, role: string, bytes: Uint8Array, use: () => T): T {
  try {
    return use();
  } catch (e) {
    if (!(e instanceof DeserializationError)) throw e;
    const server = new URL(ctx.remote.baseUrl).origin;
    if (!notJson(bytes, e)) {
      throw new DeserializationError('', `the ${role} metadata of ${ctx.gun} from ${server} is malformed (${e.message}); the server may be broken or not a notary server, check -s/remote_server.url`, { code: e.code, cause: e });
    }
    throw notNotaryMetadata(`the ${role} metadata of ${ctx.gun} from ${server} is not notary metadata`, e);
  }
}

/** A server answer that is not notary metadata at all (`said` names it), with the remedy; init's root check uses it too. */
export function notNotaryMetadata(said: string, e: DeserializationError): DeserializationError {
  return new DeserializationError('', `${said} (${e.message}); check -s/remote_server.url: a proxy or a login page may have answered instead of the trust server`, { code: e.code, cause: e });
}

/**
 * The set anchored at the cached root; a cached root.json that does not parse is named, with the way out.
 * @throws {DeserializationError} (same code) naming the file.
 */
function cachedRootSet(ctx: RefreshContext, rootBytes: Uint8Array): TrustedMetadataSet {
  try {
    return newSet(ctx, rootBytes);
  } catch (e) {
    if (!(e instanceof DeserializationError)) throw e;
    const file = ctx.cache.fileOf('root');
    throw new DeserializationError(
      '',
      `the cached root of ${ctx.gun} in ${file} is damaged (${e.message}); move it away (mv ${file} ${file}.bad) and the next command fetches the root from the server again, trusting it on first use (check trust pinning or compare the root key IDs if that matters)`,
      { code: e.code, cause: e },
    );
  }
}

function newSet(ctx: RefreshContext, rootBytes: Uint8Array): TrustedMetadataSet {
  return new TrustedMetadataSet(rootBytes, { gun: ctx.gun, now: ctx.now, codec: notaryCodec, rules: notaryRootKeyRules });
}

async function fetchOrMissing<T>(ctx: RefreshContext, what: Promise<T>): Promise<T> {
  try {
    return await what;
  } catch (e) {
    if (e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND') {
      throw new RepositoryMissingError('METADATA_NOT_FOUND', `${ctx.gun} has no trust data on the server; initialize and publish it first (signet init ${ctx.gun} -p)`, { cause: e, httpStatus: 404 });
    }
    throw e;
  }
}

async function loadTargetsRole(ctx: RefreshContext, set: TrustedMetadataSet, role: RoleName, delegator: RoleName, downloads: Map<RoleName, Buffer>): Promise<void> {
  const meta = set.snapshot?.signed.meta.get(role);
  if (meta === undefined) throw new RepositoryError('MISSING_META', `the snapshot records no ${role} for ${ctx.gun}`);
  const cached = ctx.cache.read(role);
  const cachedRole = (r: RoleName): Buffer | null => ctx.cache.read(r);
  if (cached !== null) {
    // Cached bytes with the length and hashes the snapshot names are the server's bytes: no
    // rollback floor to check, and a 10,000-target file is parsed once instead of twice (~200 ms
    // of a `list`). The set checks length and hashes first, so they are computed once too.
    try {
      set.updateDelegatedTargets(cached, role, delegator, { cachedRole });
      return;
    } catch (e) {
      if (!(e instanceof LengthOrHashMismatchError)) throw e;
    }
  }
  const previousVersion = cachedVersion(cached, role);
  const options = previousVersion === undefined ? { cachedRole } : { previousVersion, cachedRole };
  const bytes = await ctx.remote.getRoleByHash(role, sha256Hex(meta, role), meta.length ?? MAX_DOWNLOAD_LENGTH);
  fromServer(ctx, role, bytes, () => set.updateDelegatedTargets(bytes, role, delegator, options));
  downloads.set(role, bytes);
}

async function updateOnce(ctx: RefreshContext, set: TrustedMetadataSet, downloads: Map<RoleName, Buffer>, warnings: string[]): Promise<void> {
  const cachedTimestamp = ctx.cache.read('timestamp');
  if (cachedTimestamp !== null) {
    try {
      set.updateTimestamp(cachedTimestamp);
    } catch (e) {
      // An expired cached copy is kept as the rollback floor; any other problem means it is no floor at all.
      if (!(e instanceof RepositoryError)) throw e;
    }
  }
  const timestampBytes = await fetchOrMissing(ctx, ctx.remote.getRole('timestamp'));
  try {
    fromServer(ctx, 'timestamp', timestampBytes, () => set.updateTimestamp(timestampBytes));
    downloads.set('timestamp', timestampBytes);
  } catch (e) {
    if (!(e instanceof EqualVersionError)) throw e;
    if (set.timestamp !== undefined && isExpired(set.timestamp.signed, ctx.now)) {
      throw new ExpiredMetadataError('EXPIRED', `the server's timestamp of ${ctx.gun} expired at ${set.timestamp.signed.expires.text}; the server must re-sign it`);
    }
  }
  const snapshotMeta = set.timestamp?.signed.meta.get('snapshot');
  if (snapshotMeta === undefined) throw new RepositoryError('MISSING_META', `the timestamp of ${ctx.gun} records no snapshot`);
  const cachedSnapshot = ctx.cache.read('snapshot');
  if (matches(cachedSnapshot, snapshotMeta, 'snapshot')) {
    set.updateSnapshot(cachedSnapshot);
  } else {
    if (cachedSnapshot !== null) {
      try {
        // The previously trusted snapshot: the new one must not roll back from it.
        set.updateSnapshot(cachedSnapshot, { trusted: true });
      } catch (e) {
        if (!(e instanceof RepositoryError)) throw e;
      }
    }
    const bytes = await ctx.remote.getRoleByHash('snapshot', sha256Hex(snapshotMeta, 'snapshot'), snapshotMeta.length ?? MAX_DOWNLOAD_LENGTH);
    fromServer(ctx, 'snapshot', bytes, () => set.updateSnapshot(bytes));
    downloads.set('snapshot', bytes);
  }
  if (set.rootUpdateNeeded()) throw new RootChanged(set.rootMeta()!);
  await loadTargetsRole(ctx, set, 'targets', 'root', downloads);
  // Delegations in notary's download order; an expired or under-signed one is skipped (it then vouches for nothing).
  const walk = delegationOrder(set);
  for (let step = walk.next(); step.done !== true; ) {
    const item = step.value;
    try {
      await loadTargetsRole(ctx, set, item.role, item.parent, downloads);
      step = walk.next(true);
    } catch (e) {
      if (!isSkippableDelegationFailure(e)) throw e;
      warnings.push(`skipping ${item.role}: ${e.message}`);
      step = walk.next(false);
    }
  }
}

/** Walk from the trusted root to `newest` one version at a time, pinning each; returns a fresh set anchored at `newest`. */
async function walkRoot(ctx: RefreshContext, set: TrustedMetadataSet, newest: Buffer, downloads: Map<RoleName, Buffer>): Promise<TrustedMetadataSet | null> {
  const target = fromServer(ctx, 'root', newest, () => notaryCodec.parse(newest, 'root').signed.version);
  const trusted = set.root.signed.version;
  if (target <= trusted) return null;
  if (target - trusted > MAX_ROOT_VERSIONS_WALKED) {
    throw new RepositoryError('BAD_ROOT', `the server names root version ${target} of ${ctx.gun}, more than ${MAX_ROOT_VERSIONS_WALKED} versions past the trusted ${trusted}; refusing to walk that far (delete the cached root only if you trust the server's current root)`);
  }
  const walker = newSet(ctx, set.root.raw);
  for (let v = trusted + 1; v <= target; v++) {
    const bytes = v === target ? newest : await ctx.remote.getRoleByVersion('root', v);
    fromServer(ctx, v === target ? 'root' : `root version ${v}`, bytes, () => walker.updateRoot(bytes));
    checkRootPinning(walker.root, { gun: ctx.gun, config: ctx.pinning, firstUse: false, now: ctx.now });
  }
  downloads.set('root', newest);
  return newSet(ctx, newest);
}

/**
 * Bring the GUN's trusted metadata up to date.
 * @throws {RepositoryMissingError} when the server has no trust data for the GUN.
 * @throws {RepositoryError} (and subclasses) when metadata fails verification or pinning.
 * @throws {RemoteError} for transport and server failures.
 */
export async function refresh(ctx: RefreshContext): Promise<RefreshResult> {
  const downloads = new Map<RoleName, Buffer>();
  const warnings: string[] = [];
  let rootBytes = ctx.cache.read('root');
  const firstUse = rootBytes === null;
  if (rootBytes === null) {
    rootBytes = await fetchOrMissing(ctx, ctx.remote.getRole('root'));
    downloads.set('root', rootBytes);
  }
  const anchor = rootBytes;
  let set = firstUse ? fromServer(ctx, 'root', anchor, () => newSet(ctx, anchor)) : cachedRootSet(ctx, anchor);
  checkRootPinning(set.root, { gun: ctx.gun, config: ctx.pinning, firstUse, now: ctx.now });
  try {
    await updateOnce(ctx, set, downloads, warnings);
  } catch (e) {
    let newer: TrustedMetadataSet | null = null;
    if (e instanceof RootChanged) {
      const newest = await ctx.remote.getRoleByHash('root', sha256Hex(e.meta, 'root'), e.meta.length ?? MAX_DOWNLOAD_LENGTH);
      newer = await walkRoot(ctx, set, newest, downloads);
      if (newer === null) throw new RepositoryError('BAD_ROOT', `the snapshot of ${ctx.gun} records a root that is not newer than the trusted version ${set.root.signed.version}`);
    } else if (e instanceof RepositoryError) {
      // Notary: any verification failure triggers one root refresh, then one retry.
      newer = await walkRoot(ctx, set, await fetchOrMissing(ctx, ctx.remote.getRole('root')), downloads);
      if (newer === null) throw e;
    } else throw e;
    set = newer;
    for (const role of downloads.keys()) if (role !== 'root') downloads.delete(role);
    try {
      await updateOnce(ctx, set, downloads, warnings);
    } catch (again) {
      if (again instanceof RootChanged) throw new RepositoryError('BAD_ROOT', `the root of ${ctx.gun} changed again during the update; retry`);
      throw again;
    }
  }
  return { set, downloads, warnings };
}

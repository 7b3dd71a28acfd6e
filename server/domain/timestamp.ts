// SPDX-License-Identifier: Apache-2.0
// Server-signed timestamps. Step 7 of a publish signs one for the new
// snapshot (notary-wire.md §7). `refreshTimestamp` keeps a quiet repository
// fresh: on read (margin 0: only when expired, like notary's
// GetOrCreateTimestamp) and from the background refresher (a margin before
// expiry). It re-signs the timestamp when it is due or when the snapshot it
// names is due and the server holds the snapshot key (the snapshot is then
// re-signed with the same meta). What it cannot sign (no key held, a token
// gone) it leaves as it is and reports as `blocked`: serving stale metadata
// lets clients report "expired", which a 500 would not.

import { KeyStoreError, StorageError } from '../../shared/errors.js';
import { expiresAfter } from '../../shared/time.js';
import { roleMetaFromBytes } from '../../shared/tuf/file-meta.js';
import type { Envelope, Root, Signer, Timestamp } from '../../shared/tuf/model.js';
import { VersionConflictError, type StoredFile } from '../storage/meta-store.js';
import { signMetadata, storeSigned, storedKey, type DomainDeps, type SignedFile } from './deps.js';
import { UpdateRefusalError } from './errors.js';
import { RepoView } from './repo-view.js';
import { signSnapshot } from './snapshot.js';

/**
 * Step 7: sign the timestamp for `snapshotBytes`, version = stored version + 1 (or 1).
 * @throws {UpdateRefusalError} ErrBadRoot when the server holds no timestamp key listed in root.
 */
export async function generateTimestamp(deps: DomainDeps, view: RepoView, root: Envelope<Root>, snapshotBytes: Buffer, now: Date): Promise<SignedFile> {
  const keyIds = root.signed.roles.get('timestamp')?.keyIds ?? [];
  const signer = await deps.keys.signerFor(view.gun, 'timestamp', keyIds);
  if (signer === null) {
    throw new UpdateRefusalError(
      'ErrBadRoot',
      'SERVER_KEY_MISSING',
      `no timestamp keys exist on the server: root lists timestamp key(s) ${keyIds.join(', ') || '(none)'}, none held by this server; list the key from GET /v2/${view.gun}/_trust/tuf/timestamp.key in root`,
      { role: 'root' },
    );
  }
  const previous = await view.load('timestamp', 'timestamp');
  const timestamp: Timestamp = {
    type: 'timestamp',
    version: (previous?.envelope.signed.version ?? 0) + 1,
    expires: expiresAfter(now, deps.lifetimes.timestamp),
    meta: new Map([['snapshot', roleMetaFromBytes(snapshotBytes)]]),
  };
  return { version: timestamp.version, data: await signMetadata(deps.codec, signer, timestamp), ...storedKey(deps.keys, 'timestamp', signer) };
}

/** How long before expiry a role counts as due for re-signing (0 = only once expired). */
export interface RefreshMargins {
  readonly timestampMs: number;
  readonly snapshotMs: number;
}

export interface RefreshResult {
  /** The current timestamp after the refresh (re-signed or not). */
  readonly file: StoredFile;
  readonly resigned: boolean;
  /** When this repository next becomes due, epoch ms (given the same margins; a snapshot key that failed is left out). */
  readonly nextDueMs: number;
  /**
   * The server's signer could not be used: it holds none of the keys root lists
   * (UpdateRefusalError), or its token or key store failed (KeyStoreError, e.g. a token
   * unplugged). Nothing was re-signed, or (a snapshot key failing) only the timestamp. What is
   * stored is served meanwhile; try again later.
   */
  readonly blocked?: UpdateRefusalError | KeyStoreError;
}

const cannotSign = (error: unknown): error is UpdateRefusalError | KeyStoreError => error instanceof UpdateRefusalError || error instanceof KeyStoreError;

function isDue(expiresMs: number, now: Date, marginMs: number): boolean {
  // Notary: expired means strictly before now; a margin moves that moment earlier.
  return expiresMs - marginMs < now.getTime();
}

/**
 * Re-sign a repository's timestamp (and snapshot, when held) if due. Null when the GUN has no timestamp.
 * Losing a race with a publish or another refresh is fine: the newer stored timestamp is returned.
 */
export async function refreshTimestamp(deps: DomainDeps, gun: string, margins: RefreshMargins): Promise<RefreshResult | null> {
  const now = deps.now();
  const view = new RepoView(deps.store, deps.codec, gun);
  const tsFile = await view.file('timestamp');
  if (tsFile === null) return null;
  const ts = (await view.load('timestamp', 'timestamp'))!.envelope.signed;
  const snapshotMeta = ts.meta.get('snapshot')!;
  const sha256 = snapshotMeta.hashes.get('sha256')!.toString('hex');
  // The snapshot the timestamp names; if it vanished, the current one (and the timestamp must be re-signed).
  const named = await deps.store.getByChecksum(gun, 'snapshot', sha256);
  const current = await view.load('snapshot', 'snapshot');
  const root = await view.load('root', 'root');
  if (current === null || root === null) return { file: tsFile, resigned: false, nextDueMs: Number.POSITIVE_INFINITY };
  const snapshotBytes = named?.data ?? current.data;
  const snapshot = named === null ? current.envelope.signed : view.parseStored('snapshot', named.data, 'snapshot').signed;

  const blocked = (error: UpdateRefusalError | KeyStoreError, nextDueMs = now.getTime()): RefreshResult => ({ file: tsFile, resigned: false, nextDueMs, blocked: error });
  let snapshotSigner: Signer | null = null;
  // A snapshot key that cannot be used leaves the snapshot as it is, but a due timestamp is still
  // re-signed; the result is reported as blocked either way, so the key is looked at again.
  let snapshotProblem: UpdateRefusalError | KeyStoreError | undefined;
  try {
    snapshotSigner = await deps.keys.signerFor(gun, 'snapshot', root.envelope.signed.roles.get('snapshot')?.keyIds ?? []);
  } catch (error) {
    if (!cannotSign(error)) throw error;
    snapshotProblem = error;
  }
  const snapshotDue = snapshotSigner !== null && isDue(snapshot.expires.ms, now, margins.snapshotMs);
  const timestampDue = named === null || isDue(ts.expires.ms, now, margins.timestampMs);
  const nextDue = (tsExpires: number, snapExpires: number): number =>
    Math.min(tsExpires - margins.timestampMs, snapshotSigner === null ? Number.POSITIVE_INFINITY : snapExpires - margins.snapshotMs);
  if (!snapshotDue && !timestampDue) {
    const nextDueMs = nextDue(ts.expires.ms, snapshot.expires.ms);
    return snapshotProblem === undefined ? { file: tsFile, resigned: false, nextDueMs } : blocked(snapshotProblem, nextDueMs);
  }

  const updates: Array<SignedFile & { role: string }> = [];
  let newSnapshotBytes = snapshotBytes;
  let snapshotExpiresMs = snapshot.expires.ms;
  let newTimestamp: SignedFile;
  try {
    if (snapshotDue && snapshotSigner !== null) {
      const resigned = await signSnapshot(deps, snapshotSigner, current.envelope.signed.version + 1, snapshot.meta, now);
      newSnapshotBytes = resigned.data;
      snapshotExpiresMs = now.getTime() + deps.lifetimes.snapshot * 1000;
      updates.push({ role: 'snapshot', ...resigned });
    }
    newTimestamp = await generateTimestamp(deps, view, root.envelope, newSnapshotBytes, now);
  } catch (error) {
    // No timestamp key held, or the signer failed: nothing is stored, what there is is served.
    if (cannotSign(error)) return blocked(error);
    throw error;
  }
  updates.push({ role: 'timestamp', ...newTimestamp });
  try {
    // Onto the root just read: a re-sign racing a DELETE must not store a timestamp for a GUN without a root.
    await storeSigned(deps, gun, updates, (await view.file('root'))?.sha256 ?? null, updates);
  } catch (error) {
    // The key was deleted with the GUN by another server meanwhile: nothing stored, what there is is served.
    if (error instanceof UpdateRefusalError) return blocked(error);
    if (!(error instanceof VersionConflictError)) throw error;
    // A publish or another refresh stored a newer timestamp first; that one is current.
    const newer = await deps.store.getCurrent(gun, 'timestamp');
    if (newer === null) return null; // deleted meanwhile: nothing to serve
    return { file: newer, resigned: false, nextDueMs: now.getTime() };
  }
  const stored = await deps.store.getCurrent(gun, 'timestamp');
  if (stored === null) throw new StorageError('STORAGE', `the timestamp just stored for ${gun} cannot be read back`);
  const nextDueMs = nextDue(now.getTime() + deps.lifetimes.timestamp * 1000, snapshotExpiresMs);
  return { file: stored, resigned: true, nextDueMs, ...(snapshotProblem === undefined ? {} : { blocked: snapshotProblem }) };
}

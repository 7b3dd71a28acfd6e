// SPDX-License-Identifier: Apache-2.0
// Step 6 of a publish (notary-wire.md §7). A supplied snapshot must be signed
// by root's snapshot role, unexpired, and its meta must match the exact bytes
// of every role this update loaded; Signet also checks every other entry
// against the stored bytes it names, so clients can always fetch what the
// snapshot lists. Without a supplied snapshot the server signs one, if it
// holds a snapshot key listed in root, from the previous snapshot with the
// loaded roles' entries refreshed from their exact bytes (notary hashes a Go
// re-serialisation instead; Signet hashes what it stores and serves).

import { RepositoryError, SerializationError } from '../../shared/errors.js';
import { expiresAfter } from '../../shared/time.js';
import { roleMetaFromBytes, verifyLengthAndHashes } from '../../shared/tuf/file-meta.js';
import type { Envelope, FileMeta, Root, Snapshot } from '../../shared/tuf/model.js';
import { verifyNotExpired } from '../../shared/verify/expiry.js';
import { verifyDelegate } from '../../shared/verify/threshold.js';
import { signMetadata, storedKey, type DomainDeps, type SignedFile } from './deps.js';
import { UpdateRefusalError } from './errors.js';
import type { Uploaded } from './parse-parts.js';
import type { RepoView } from './repo-view.js';

/** Exact bytes of each role an update loaded (root, targets, delegations), by role name. */
export type LoadedBytes = ReadonlyMap<string, Buffer>;

/**
 * Step 6a: check a client-signed snapshot.
 * @throws {UpdateRefusalError} ErrBadSnapshot.
 */
export async function verifySuppliedSnapshot(view: RepoView, snapshot: Uploaded<Snapshot>, root: Envelope<Root>, loaded: LoadedBytes, now: Date): Promise<void> {
  const { signed } = snapshot.envelope;
  try {
    verifyDelegate('snapshot', root.signed.keys, root.signed.roles.get('snapshot')!, snapshot.envelope);
    verifyNotExpired('snapshot', signed, now);
    for (const [role, bytes] of loaded) {
      const meta = signed.meta.get(role);
      if (meta === undefined) throw new RepositoryError('MISSING_META', `it has no entry for ${role}, which this update loads; list every role in the snapshot`);
      verifyLengthAndHashes(bytes, meta, role);
    }
    for (const [role, meta] of signed.meta) {
      if (loaded.has(role)) continue;
      if (role === 'snapshot' || role === 'timestamp') throw new RepositoryError('MISSING_META', `it lists ${role}; a snapshot lists only root, targets and delegations`);
      const stored = await view.file(role);
      if (stored === null) throw new RepositoryError('MISSING_META', `it lists ${role}, which has no metadata on the server; upload ${role} or drop it from the snapshot`);
      verifyLengthAndHashes(stored.data, meta, role);
    }
    // Its entries are copied into the snapshots this server signs later: one it could not write
    // again (custom data holding a raw control character, which Go cannot write either) would make
    // every such publish fail.
    try {
      view.codec.draft(signed);
    } catch (cause) {
      if (!(cause instanceof SerializationError)) throw cause;
      throw new RepositoryError('CANONICAL_JSON', `it cannot be written again (${cause.message}); remove the control character from its meta`, { cause });
    }
  } catch (error) {
    throw UpdateRefusalError.wrap('ErrBadSnapshot', 'snapshot', error);
  }
}

/**
 * Step 6b: sign a new snapshot with the server's snapshot key.
 * @throws {UpdateRefusalError} ErrBadHierarchy (Missing: snapshot) when the server holds no snapshot key listed in root;
 *   ErrValidation when no targets metadata exists yet.
 */
export async function generateSnapshot(deps: DomainDeps, view: RepoView, root: Envelope<Root>, loaded: LoadedBytes, now: Date): Promise<SignedFile> {
  const keyIds = root.signed.roles.get('snapshot')?.keyIds ?? [];
  const signer = await deps.keys.signerFor(view.gun, 'snapshot', keyIds);
  if (signer === null) {
    throw new UpdateRefusalError(
      'ErrBadHierarchy',
      'SERVER_KEY_MISSING',
      'no snapshot was included in update and server does not hold current snapshot key for repository; sign the snapshot yourself and include it, or let the server sign it (notary key rotate <gun> snapshot -r)',
      { role: 'snapshot', missing: 'snapshot' },
    );
  }
  const previous = await view.load('snapshot', 'snapshot');
  const meta = new Map<string, FileMeta>(previous?.envelope.signed.meta ?? []);
  for (const [role, bytes] of loaded) meta.set(role, roleMetaFromBytes(bytes));
  if (!loaded.has('targets')) {
    const targets = await view.file('targets');
    if (targets === null) {
      throw new UpdateRefusalError('ErrValidation', 'MISSING_META', `targets must be loaded first: ${view.gun} has no targets metadata, so include targets.json in this update`, {
        role: 'targets',
      });
    }
    meta.set('targets', roleMetaFromBytes(targets.data));
  }
  return signSnapshot(deps, signer, (previous?.envelope.signed.version ?? 0) + 1, meta, now);
}

/** A snapshot body with the server lifetime, signed. */
export async function signSnapshot(deps: DomainDeps, signer: Parameters<typeof signMetadata>[1], version: number, meta: ReadonlyMap<string, FileMeta>, now: Date): Promise<SignedFile> {
  const snapshot: Snapshot = { type: 'snapshot', version, expires: expiresAfter(now, deps.lifetimes.snapshot), meta };
  return { version, data: await signMetadata(deps.codec, signer, snapshot), ...storedKey(deps.keys, 'snapshot', signer) };
}

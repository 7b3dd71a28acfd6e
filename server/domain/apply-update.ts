// SPDX-License-Identifier: Apache-2.0
// The publish use case (notary-wire.md §7), one step per line, verify
// everything before writing anything:
//   1. parse every part              (parse-parts.ts)
//   2-4. the root to judge against   (validate-root.ts)
//   5. targets and delegations       (validate-targets.ts)
//   6. snapshot: check the client's or sign one (snapshot.ts)
//   7. timestamp: always signed here (timestamp.ts)
//   8. store all of it atomically; the store refuses any version that is not
//      newer than the stored one (VersionConflictError -> notary VERSION), which
//      is also how a concurrent publish to the same GUN loses the race.
// No lock is held while validating: two racing publishes both build version
// N+1 of snapshot and timestamp, and the store lets exactly one of them in.

import type { MetaUpdate } from '../storage/meta-store.js';
import { storeSigned, type DomainDeps, type SignedFile } from './deps.js';
import { parseParts } from './parse-parts.js';
import { RepoView } from './repo-view.js';
import type { UpdatePart } from './service.js';
import { generateSnapshot, verifySuppliedSnapshot } from './snapshot.js';
import { generateTimestamp } from './timestamp.js';
import { validateRoot } from './validate-root.js';
import { validateTargets } from './validate-targets.js';

/**
 * Validate and store one publish.
 * @throws {DeserializationError} when a part does not parse (notary MALFORMED_JSON).
 * @throws {UpdateRefusalError} when the update is invalid (notary INVALID_UPDATE with its `notaryName`).
 * @throws {VersionConflictError} when a version is not newer than the stored one (notary VERSION).
 */
export async function applyUpdate(deps: DomainDeps, gun: string, parts: readonly UpdatePart[]): Promise<void> {
  const now = deps.now();
  const update = parseParts(deps.codec, parts, deps.maxMetadataBytes);
  const view = new RepoView(deps.store, deps.codec, gun);
  // Every publish judges against the stored root and numbers the new timestamp after the stored one.
  view.prefetch(['root', 'timestamp']);

  const root = await validateRoot(view, update.root, { gun, now, rules: deps.rules });
  // Stored only onto this root: a DELETE or another root stored meanwhile makes it a conflict.
  const baseRoot = (await view.file('root'))?.sha256 ?? null;
  const targets = await validateTargets(view, update.targets, root.envelope, now);

  // Every role this update loaded, by its exact bytes: what snapshot meta must describe.
  const loaded = new Map<string, Buffer>([['root', root.data]]);
  for (const [role, t] of targets) loaded.set(role, t.loaded.data);

  let snapshot: SignedFile;
  if (update.snapshot !== null) {
    await verifySuppliedSnapshot(view, update.snapshot, root.envelope, loaded, now);
    snapshot = { version: update.snapshot.envelope.signed.version, data: update.snapshot.data };
  } else {
    snapshot = await generateSnapshot(deps, view, root.envelope, loaded, now);
  }
  const timestamp = await generateTimestamp(deps, view, root.envelope, snapshot.data, now);

  const writes: MetaUpdate[] = [];
  if (update.root !== null) writes.push({ role: 'root', version: update.root.envelope.signed.version, data: update.root.data });
  for (const t of update.targets) writes.push({ role: t.role, version: t.envelope.signed.version, data: t.data });
  writes.push({ role: 'snapshot', ...snapshot }, { role: 'timestamp', ...timestamp });
  await storeSigned(deps, gun, writes, baseRoot, [snapshot, timestamp]);
}

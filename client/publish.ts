// SPDX-License-Identifier: Apache-2.0
// `publish`: rebase the staged changelist on the server's current trusted
// state and upload the result in one multipart POST (notary client.publish):
//   - refresh (verified); if the server has no trust data, this is the first
//     publish of a repository made by `init`: the cached root, targets and
//     snapshot are the base and the root is uploaded as is;
//   - apply target changes to `targets` or a delegated role (within its paths);
//   - re-sign each changed role (version + 1, fresh expiry) with the keys we hold;
//   - sign a new snapshot if we hold a snapshot key, else leave it to the server;
//   - POST; only after the server accepted it, write the cache and remove the
//     applied change files. Any failure before that changes nothing locally.
// Supported change types in this slice: target create/delete. Others
// (delegations, root key changes, witness) are refused before anything is sent.

import { RepositoryError, UsageError, KeyStoreError } from '../shared/errors.js';
import { notaryCodec } from '../shared/codec/notary.js';
import { isTargetsRoleName } from '../shared/tuf/names.js';
import { roleMetaFromBytes } from '../shared/tuf/file-meta.js';
import type { Envelope, FileMeta, PublicKey, Root, RoleName, Snapshot, TargetFile, Targets } from '../shared/tuf/model.js';
import { findDelegatedRole, isTargetInScope, notaryRootKeyRules, parentOf, resolveRoleScope, TrustedMetadataSet, verifyDelegate } from '../shared/verify/index.js';
import type { CryptoService } from '../keys/index.js';
import type { FileChangelist, StoredChange } from './changelist.js';
import { nextSnapshot, nextTargets, parseFileMeta, signMetadata } from './metadata.js';
import { refresh, RepositoryMissingError, type RefreshContext } from './update.js';

export interface PublishContext extends RefreshContext {
  readonly changelist: FileChangelist;
  readonly keys: CryptoService;
}

export interface PublishResult {
  /** Roles uploaded, in upload order; empty when there was nothing to publish. */
  readonly roles: readonly RoleName[];
  readonly applied: number;
  readonly warnings: readonly string[];
}

interface RepoState {
  readonly root: Envelope<Root>;
  readonly targets: Map<RoleName, Envelope<Targets>>;
  readonly snapshot: Envelope<Snapshot> | undefined;
  readonly initial: boolean;
  readonly downloads: Map<RoleName, Buffer>;
  readonly warnings: readonly string[];
}

/** The repository `init` left in the cache, for its first publish. */
function localState(ctx: PublishContext): RepoState {
  const rootBytes = ctx.cache.read('root');
  const targetsBytes = ctx.cache.read('targets');
  if (rootBytes === null || targetsBytes === null) {
    throw new UsageError(`${ctx.gun} exists neither on the server nor locally; create it with \`signet init ${ctx.gun}\``);
  }
  // The self-signature check of the set: our own cached root must still be sound.
  const root = new TrustedMetadataSet(rootBytes, { gun: ctx.gun, now: ctx.now, codec: notaryCodec, rules: notaryRootKeyRules }).root;
  const targets = notaryCodec.parse(targetsBytes, 'targets');
  verifyDelegate('targets', root.signed.keys, root.signed.roles.get('targets')!, targets);
  const snapshotBytes = ctx.cache.read('snapshot');
  const snapshot = snapshotBytes === null ? undefined : notaryCodec.parse(snapshotBytes, 'snapshot');
  return { root, targets: new Map([['targets', targets]]), snapshot, initial: true, downloads: new Map(), warnings: [] };
}

async function currentState(ctx: PublishContext): Promise<RepoState> {
  try {
    const { set, downloads, warnings } = await refresh(ctx);
    const targets = new Map<RoleName, Envelope<Targets>>();
    for (const role of set.loadedTargetsRoles) targets.set(role, set.getTargets(role)!);
    return { root: set.root, targets, snapshot: set.snapshot, initial: false, downloads, warnings };
  } catch (e) {
    if (e instanceof RepositoryMissingError) return localState(ctx);
    throw e;
  }
}

/** Keys allowed to sign `role`, by the ID its delegator lists them under. */
function roleKeys(state: RepoState, role: RoleName): { keys: PublicKey[]; threshold: number } {
  const pick = (all: ReadonlyMap<string, PublicKey>, ids: readonly string[]): PublicKey[] => ids.flatMap((id) => all.get(id) ?? []);
  if (role === 'targets' || role === 'snapshot' || role === 'root') {
    const entry = state.root.signed.roles.get(role);
    return { keys: pick(state.root.signed.keys, entry?.keyIds ?? []), threshold: entry?.threshold ?? 1 };
  }
  const parent = parentOf(role)!;
  const parentMeta = state.targets.get(parent)?.signed;
  const entry = parentMeta === undefined ? undefined : findDelegatedRole(parentMeta, parent, role);
  if (parentMeta === undefined || entry === undefined) throw new UsageError(`${role} is not a delegation of this repository`);
  return { keys: pick(parentMeta.delegations?.keys ?? new Map(), entry.keyIds), threshold: entry.threshold };
}

function baseTargets(ctx: PublishContext, state: RepoState, role: RoleName, index: number): Targets {
  const loaded = state.targets.get(role);
  if (loaded !== undefined) return loaded.signed;
  const parent = parentOf(role);
  const parentMeta = parent === undefined ? undefined : state.targets.get(parent)?.signed;
  if (parent === undefined || parentMeta === undefined || findDelegatedRole(parentMeta, parent, role) === undefined) {
    throw new UsageError(`staged change #${index} adds to ${role}, which ${ctx.gun} does not delegate; drop it with \`signet reset ${ctx.gun} -n ${index}\``);
  }
  // A delegation without metadata yet: its first version will be 1.
  return { type: 'targets', version: 0, expires: parentMeta.expires, targets: new Map(), delegations: null };
}

function applyChanges(ctx: PublishContext, state: RepoState, changes: readonly StoredChange[]): Map<RoleName, Map<string, TargetFile>> {
  const edited = new Map<RoleName, Map<string, TargetFile>>();
  changes.forEach((c, i) => {
    if (c.type !== 'target' || (c.action !== 'create' && c.action !== 'delete')) {
      throw new UsageError(`staged change #${i} (${c.action} ${c.type} for ${c.role}) is not supported by signet yet; publish it with notary, or drop it with \`signet reset ${ctx.gun} -n ${i}\``);
    }
    if (!isTargetsRoleName(c.role)) throw new UsageError(`staged change #${i} names role ${JSON.stringify(c.role)}, which cannot hold targets`);
    const base = baseTargets(ctx, state, c.role, i);
    if (c.role !== 'targets') {
      const scope = resolveRoleScope(c.role, (r) => (r === c.role ? base : state.targets.get(r)?.signed));
      if (!isTargetInScope(c.path, scope)) {
        throw new UsageError(`staged change #${i}: target ${JSON.stringify(c.path)} is outside the paths delegated to ${c.role}; drop it with \`signet reset ${ctx.gun} -n ${i}\``);
      }
    }
    const files = edited.get(c.role) ?? new Map(base.targets);
    if (c.action === 'create') {
      if (c.data === null) throw new UsageError(`staged change #${i} adds ${JSON.stringify(c.path)} without target meta`);
      files.set(c.path, parseFileMeta(c.data, c.file));
    } else files.delete(c.path);
    edited.set(c.role, files);
  });
  if (state.initial && !edited.has('targets')) edited.set('targets', new Map(state.targets.get('targets')!.signed.targets));
  return edited;
}

/**
 * Publish the staged changes of `ctx.gun`.
 * @throws {UsageError} for changes signet cannot apply; {KeyStoreError} when a needed key or passphrase is missing;
 *   {RemoteError} when the server refuses the update; {RepositoryError} when the current state does not verify.
 */
export async function publish(ctx: PublishContext): Promise<PublishResult> {
  const changes = ctx.changelist.list();
  const state = await currentState(ctx);
  const edited = applyChanges(ctx, state, changes);
  if (edited.size === 0) return { roles: [], applied: 0, warnings: state.warnings };

  const files = new Map<RoleName, Buffer>();
  if (state.initial) files.set('root', state.root.raw);
  for (const role of [...edited.keys()].sort()) {
    const { keys } = roleKeys(state, role);
    const signers = await ctx.keys.signersFor(keys);
    if (signers.length === 0) {
      throw new KeyStoreError('KEY_NOT_FOUND', `you hold no private key for ${role} of ${ctx.gun} (keys ${keys.map((k) => k.id.slice(0, 12)).join(', ') || 'none'}); import one with \`notary key import\``);
    }
    const base = baseTargets(ctx, state, role, -1);
    const env = await signMetadata(nextTargets(base, edited.get(role)!, ctx.now), signers, role);
    files.set(role, env.raw);
  }
  const snapshotSigners = await ctx.keys.signersFor(roleKeys(state, 'snapshot').keys);
  if (snapshotSigners.length > 0) {
    const meta = new Map<RoleName, FileMeta>(state.snapshot?.signed.meta ?? []);
    meta.set('root', roleMetaFromBytes(state.root.raw));
    for (const [role, env] of state.targets) if (!meta.has(role)) meta.set(role, roleMetaFromBytes(env.raw));
    for (const [role, bytes] of files) meta.set(role, roleMetaFromBytes(bytes));
    const snapshot = await signMetadata(nextSnapshot(state.snapshot?.signed, meta, ctx.now), snapshotSigners);
    files.set('snapshot', snapshot.raw);
  } else if (state.initial) {
    throw new RepositoryError('MISSING_META', `the first publish of ${ctx.gun} needs the snapshot key, which is not in the key store`);
  }

  await ctx.remote.publish(files);
  // Only now: the server holds exactly these bytes.
  ctx.cache.writeMany(new Map([...state.downloads, ...files]));
  ctx.changelist.removeFiles(changes.map((c) => c.file));
  return { roles: [...files.keys()], applied: changes.length, warnings: state.warnings };
}

// SPDX-License-Identifier: Apache-2.0
// `publish`: rebase the staged changelist on the server's current trusted
// state and upload the result in one multipart POST (notary client.publish):
//   - refresh (verified); if the server has no trust data, this is the first
//     publish of a repository made by `init`: the cached root, targets and
//     snapshot are the base and the root is uploaded as is;
//   - apply every change in order (apply-changes.ts); the first change that
//     no longer applies stops the publish before anything is sent;
//   - re-sign root when a change touched it, or when it expires within six
//     months and we hold the root key (notary signRootIfNecessary); a changed
//     root role is signed by the old root keys too;
//   - re-sign each changed targets role (version + 1, fresh 3-year expiry);
//   - sign a new snapshot if we hold the snapshot key, else leave it to the
//     server (ErrBadHierarchy from a server without it becomes a message
//     naming `key rotate <gun> snapshot -r`);
//   - POST; only after the server accepted it, remove the applied change files
//     and write the cache (a cache that cannot be written is then a warning).
//     Any failure before that changes nothing locally.

import { KeyStoreError, RemoteError, RepositoryError } from '../shared/errors.js';
import { notaryCodec } from '../shared/codec/notary.js';
import { canonicalKeyId } from '../shared/codec/notary-keys.js';
import { DEFAULT_EXPIRY_SECONDS, expiresAfter } from '../shared/time.js';
import { roleMetaFromBytes, verifyLengthAndHashes } from '../shared/tuf/file-meta.js';
import type { Envelope, FileMeta, PublicKey, Root, RoleName, Signer, Snapshot, Targets } from '../shared/tuf/model.js';
import { isDelegationRoleName } from '../shared/tuf/names.js';
import { getVerificationResult, notaryRootKeyRules, parentOf, TrustedMetadataSet, verifyDelegate } from '../shared/verify/index.js';
import type { CryptoService } from '../keys/index.js';
import { applyChanges } from './apply-changes.js';
import { expiresWithinSixMonths, publishWarnings, signRootSuccessor } from './lifecycle.js';
import type { FileChangelist, StoredChange } from './changelist.js';
import { quietLog, type CliLog } from './log.js';
import { nextSnapshot, nextTargets, signMetadata } from './metadata.js';
import { noProgress, type Progress } from './progress.js';
import { MAX_DOWNLOAD_LENGTH } from './remote.js';
import { refresh, RepositoryMissingError, type RefreshContext } from './update.js';
import { WorkingRepo } from './working-repo.js';

export interface PublishContext extends RefreshContext {
  readonly changelist: FileChangelist;
  readonly keys: CryptoService;
  readonly warn?: (message: string) => void;
  readonly log?: CliLog;
  readonly progress?: Progress;
  /**
   * Publish exactly these changes instead of the staged ones, leaving the
   * changelist alone (notary publishes key rotations this way; `sign` too).
   */
  readonly changes?: readonly StoredChange[];
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
  readonly warnings: string[];
}

/** The repository `init` left in the cache, for its first publish. */
function localState(ctx: PublishContext): RepoState {
  const rootBytes = ctx.cache.read('root');
  const targetsBytes = ctx.cache.read('targets');
  if (rootBytes === null || targetsBytes === null) {
    // exit 7 (not found), as the docs promise scripts: the repository does not exist
    throw new RepositoryMissingError('METADATA_NOT_FOUND', `${ctx.gun} exists neither on the server nor locally; create it with \`signet init ${ctx.gun}\``);
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
    return { root: set.root, targets, snapshot: set.snapshot, initial: false, downloads, warnings: [...warnings] };
  } catch (e) {
    if (e instanceof RepositoryMissingError) return localState(ctx);
    throw e;
  }
}

/** Remove the applied change files; one that cannot be removed is a warning naming the remedy (it must not be applied twice). */
function dropApplied(ctx: PublishContext, changes: readonly StoredChange[], why: string): string[] {
  const stuck = ctx.changelist.removeFiles(changes.map((c) => c.file));
  if (stuck.length === 0) return [];
  const codes = [...new Set(stuck.map((s) => s.code))].join(', ');
  return [
    `${why}, but ${stuck.length} applied change file(s) could not be removed from ${ctx.changelist.dir} (${codes}): ${stuck.slice(0, 3).map((s) => s.file).join(', ')}${stuck.length > 3 ? ', …' : ''}; ` +
      `remove them (\`signet reset ${ctx.gun} --all\` once the directory is writable) before publishing again, or they are applied a second time`,
  ];
}

/** The delegated role a change writes: a target change its role, a delegation change the delegator. */
function writtenRole(c: StoredChange): RoleName | undefined {
  const role = c.type === 'target' || c.type === 'witness' ? c.role : c.type === 'delegation' ? parentOf(c.role) : undefined;
  // apply-changes refuses the rest (a target change scoped to root, say), naming the change
  return role !== undefined && isDelegationRoleName(role) ? role : undefined;
}

/**
 * Delegations this publish writes that the refresh skipped (they did not verify: expired, or
 * their keys changed): fetched by the hash the snapshot records, so that witness can re-sign
 * them and a change to an expired one keeps its content (apply-changes.ts #metaFor).
 */
async function invalidRoles(ctx: PublishContext, state: RepoState, changes: readonly StoredChange[]): Promise<Map<RoleName, Envelope<Targets>>> {
  const out = new Map<RoleName, Envelope<Targets>>();
  for (const c of changes) {
    const role = writtenRole(c);
    if (role === undefined || role === 'targets' || state.targets.has(role) || out.has(role)) continue;
    const meta = state.snapshot?.signed.meta.get(role);
    const sha = meta?.hashes.get('sha256');
    if (meta === undefined || sha === undefined) continue;
    const bytes = await ctx.remote.getRoleByHash(role, sha.toString('hex'), meta.length ?? MAX_DOWNLOAD_LENGTH);
    verifyLengthAndHashes(bytes, meta, role);
    out.set(role, notaryCodec.parse(bytes, 'targets', { roleName: role }));
  }
  return out;
}

/** Versions above this are not a server's honest history; such a floor is ignored. */
const MAX_PLAUSIBLE_VERSION = 2 ** 31;

/**
 * The version each delegated role this publish may write afresh must be numbered above: one the
 * refresh loaded keeps its version (deleted and re-created in this same changelist, it must not
 * restart at 1); a skipped one (`invalid`) the version the snapshot vouches for; one absent from
 * the snapshot (removed and added again) the version the server still holds. Otherwise the
 * server refuses the file as a replay on every try (notary 0.7 numbers it 1 and is stuck there).
 * That last copy is read without verifying it: only its version number is used.
 */
async function versionFloors(ctx: PublishContext, state: RepoState, changes: readonly StoredChange[], invalid: ReadonlyMap<RoleName, Envelope<Targets>>): Promise<Map<RoleName, number>> {
  const out = new Map<RoleName, number>();
  for (const c of changes) {
    const role = writtenRole(c);
    if (role === undefined || role === 'targets' || out.has(role)) continue;
    const known = state.targets.get(role) ?? invalid.get(role);
    if (known !== undefined) {
      out.set(role, known.signed.version);
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = await ctx.remote.getRole(role);
    } catch (e) {
      if (e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND') {
        out.set(role, 0);
        continue;
      }
      throw e;
    }
    out.set(role, storedVersion(bytes));
  }
  return out;
}

function storedVersion(bytes: Buffer): number {
  try {
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    const version = (doc as { signed?: { version?: unknown } } | null)?.signed?.version;
    return typeof version === 'number' && Number.isSafeInteger(version) && version > 0 && version < MAX_PLAUSIBLE_VERSION ? version : 0;
  } catch {
    return 0;
  }
}

/**
 * Delegations whose current metadata verified but no longer meets its (changed) keys and threshold,
 * and that this publish does not re-sign: readers will skip them, and their targets vanish, until a
 * holder of a remaining key re-signs them. The publish goes ahead (the owner may mean it); the warning
 * names the remedy.
 */
function orphanedDelegations(gun: string, repo: WorkingRepo, state: RepoState): string[] {
  const out: string[] = [];
  for (const [role, env] of state.targets) {
    // Only a delegator this publish re-signs can have changed the role's keys; refresh verified the rest.
    const parent = parentOf(role);
    if (parent === undefined || repo.roles.get(parent)?.dirty !== true) continue;
    if (repo.deleted.has(role) || repo.roles.get(role)?.dirty === true) continue;
    const signing = repo.signingKeys(role);
    if (signing === undefined) continue;
    const keys = new Map(signing.keys.map((k) => [k.id, k]));
    if (getVerificationResult(keys, { keyIds: [...keys.keys()], threshold: signing.threshold }, env, { role }).verified) continue;
    out.push(
      `${role} of ${gun} is signed by keys this change removes: once published, readers skip ${role} (its targets vanish) until a holder of one of its remaining keys re-signs it with \`signet witness ${gun} ${role} -p\``,
    );
  }
  return out;
}

/** What a refused publish leaves: the staged changes, or (`sign`, a rotation: given changes) nothing staged at all. */
function keptNote(ctx: PublishContext): string {
  return ctx.changes === undefined ? 'your changes stay staged' : 'nothing was staged or published';
}

/** Signers we hold among `keys`; refuses when they cannot reach `threshold`. */
async function signersMeeting(ctx: PublishContext, role: RoleName, keys: readonly PublicKey[], threshold: number): Promise<Signer[]> {
  const signers = await ctx.keys.signersFor(keys);
  if (signers.length < threshold || signers.length === 0) {
    const ids = keys.map((k) => canonicalKeyId(k).slice(0, 12)).join(', ') || 'none';
    // the keys may be on a token that is not plugged in: say that instead of "import the key"
    const missing = ctx.keys.unavailable();
    if (missing !== undefined) {
      throw new KeyStoreError(missing.code, `${role} of ${ctx.gun} needs ${threshold} signature(s) but you hold ${signers.length} of its keys (${ids}) in the stores that could be read: ${missing.message} (${keptNote(ctx)})`, { cause: missing });
    }
    throw new KeyStoreError(
      'KEY_NOT_FOUND',
      `${role} of ${ctx.gun} needs ${threshold} signature(s) but you hold ${signers.length} of its keys (${ids}); import the key with \`signet key import\` or \`notary key import\`, then try again (${keptNote(ctx)})`,
    );
  }
  return signers;
}

async function signRoot(ctx: PublishContext, repo: WorkingRepo, state: RepoState): Promise<Buffer | undefined> {
  const old = state.root.signed;
  // Six calendar months, as notary (AddDate(0, 6, 0)) and as the expiry warning says.
  const nearExpiry = expiresWithinSixMonths(old.expires.ms, ctx.now);
  if (!repo.root.dirty && !nearExpiry) return state.initial ? state.root.raw : undefined;
  const newRole = repo.root.roles.get('root')!;
  const oldRole = old.roles.get('root')!;
  const pick = (keys: ReadonlyMap<string, PublicKey>, ids: readonly string[]): PublicKey[] => ids.flatMap((id) => keys.get(id) ?? []);
  if (!repo.root.dirty) {
    // Only near expiry: a delegate without the root key publishes anyway (notary would fail here).
    const held = await ctx.keys.signersFor(pick(repo.root.keys, newRole.keyIds));
    if (held.length < newRole.threshold) {
      ctx.warn?.(`the root of ${ctx.gun} expires at ${old.expires.text}; the holder of the root key should publish to re-sign it`);
      return state.initial ? state.root.raw : undefined;
    }
  }
  const signers = await signersMeeting(ctx, 'root', pick(repo.root.keys, newRole.keyIds), newRole.threshold);
  const rotated = oldRole.threshold !== newRole.threshold || oldRole.keyIds.join() !== newRole.keyIds.join();
  if (rotated) {
    // The previous root's keys must vouch for the new root (notary-wire.md 4.2).
    const previous = await signersMeeting(ctx, 'the previous root', pick(old.keys, oldRole.keyIds), oldRole.threshold);
    for (const s of previous) if (!signers.some((x) => x.publicKey.id === s.publicKey.id)) signers.push(s);
  }
  const next: Root = { ...old, version: old.version + 1, expires: expiresAfter(ctx.now, DEFAULT_EXPIRY_SECONDS.root), keys: repo.root.keys, roles: repo.root.roles };
  // lifecycle: a new root must verify for clients that trust the current one, or nothing is sent
  return (await signRootSuccessor(ctx.gun, state.root, next, signers, ctx.now)).raw;
}

function mapBadHierarchy(ctx: PublishContext, e: unknown): unknown {
  if (e instanceof RemoteError && e.detailName === 'ErrBadHierarchy') {
    return e.withMessage(
      `${ctx.gun}: the server cannot sign a snapshot for this update (it does not hold the snapshot key) and you do not hold it either. ` +
        `The repository owner must let the server manage the snapshot key: \`signet key rotate ${ctx.gun} snapshot -r\` (or \`notary key rotate ${ctx.gun} snapshot -r\`); ${keptNote(ctx)}, try again afterwards`,
      'SERVER_REJECTED',
    );
  }
  return e;
}

// Failures after which the upload may have reached the server (the connection broke or timed out mid-exchange).
const MAYBE_SENT = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** An upload without an answer may have been applied: say so, and how to find out, instead of only "cannot reach". */
function mapLostAnswer(ctx: PublishContext, e: unknown): unknown {
  if (!(e instanceof RemoteError)) return e;
  const cause = e.cause instanceof Error ? (e.cause as NodeJS.ErrnoException).code : undefined;
  if (e.code !== 'TIMEOUT' && !(e.code === 'NETWORK' && cause !== undefined && MAYBE_SENT.has(cause))) return e;
  return e.withMessage(
    `${e.message}. The upload may have reached the server, so whether it was applied is unknown: your changes stay staged; ` +
      `check with \`signet list ${ctx.gun}\`, and drop the changes that were applied (\`signet status ${ctx.gun}\`, \`signet reset ${ctx.gun} -n <index>\`) before publishing again`,
  );
}

/**
 * Publish the staged changes of `ctx.gun` (or `ctx.changes`).
 * @throws {ChangeNotApplicableError} (a UsageError) for a change that no longer applies;
 *   {KeyStoreError} when a needed key or passphrase is missing; {RemoteError} when the
 *   server refuses the update; {RepositoryError} when the current state does not verify.
 */
export async function publish(ctx: PublishContext): Promise<PublishResult> {
  const log = ctx.log ?? quietLog;
  const progress = ctx.progress ?? noProgress;
  const changes = ctx.changes ?? ctx.changelist.list();
  const state = await currentState(ctx);
  log.info(`${ctx.gun}: rebasing ${changes.length} change(s) on ${state.initial ? 'the local, unpublished repository' : `the server's state (snapshot v${state.snapshot?.signed.version ?? 0})`}`);
  const repo = new WorkingRepo(state.root, state.targets, state.snapshot);
  const task = progress.begin('applying changes', changes.length, { minTotal: 50 });
  try {
    // The private keys held do not change during a publish and a token lists every object per ask:
    // each key is asked once, later answers come without awaiting.
    const held = new Map<string, boolean>();
    const holdsAny = async (keys: readonly PublicKey[]): Promise<boolean> => {
      for (const k of keys) {
        const id = canonicalKeyId(k);
        let known = held.get(id);
        if (known === undefined) held.set(id, (known = await ctx.keys.has(id)));
        if (known) return true;
      }
      return false;
    };
    const invalid = await invalidRoles(ctx, state, changes);
    await applyChanges(repo, changes, {
      gun: ctx.gun,
      now: ctx.now,
      holdsAny,
      invalid,
      versionFloor: await versionFloors(ctx, state, changes, invalid),
      warn: (m) => state.warnings.push(m),
      staged: ctx.changes === undefined,
      ...(log.level === 'debug' ? { debug: (m: string) => log.debug(m) } : {}),
    });
  } finally {
    task.done();
  }

  state.warnings.push(...orphanedDelegations(ctx.gun, repo, state));

  const files = new Map<RoleName, Buffer>();
  const signedTargets = new Map<RoleName, Envelope<Targets>>();
  const rootBytes = await signRoot(ctx, repo, state);
  if (rootBytes !== undefined) files.set('root', rootBytes);
  // Parents before children, then by name: a stable upload order.
  const dirty = [...repo.roles].filter(([role, w]) => w.dirty || (state.initial && role === 'targets')).map(([role]) => role);
  dirty.sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
  for (const role of dirty) {
    const signing = repo.signingKeys(role);
    if (signing === undefined) throw new RepositoryError('BAD_DELEGATION', `${role} is no longer delegated in ${ctx.gun}; reset the changes for it`);
    const signers = await signersMeeting(ctx, role, signing.keys, signing.threshold);
    const body = repo.view(role)!;
    const env = await signMetadata(nextTargets(body, body.targets, ctx.now), signers, role);
    signedTargets.set(role, env);
    log.info(`signed ${role} v${env.signed.version} with ${signers.map((s) => canonicalKeyId(s.publicKey).slice(0, 12)).join(', ')}`);
    files.set(role, env.raw);
  }
  if (files.size === 0) {
    if (changes.length > 0 && ctx.changes === undefined) state.warnings.push(...dropApplied(ctx, changes, 'nothing needed publishing'));
    return { roles: [], applied: changes.length, warnings: state.warnings };
  }

  const snapshotKeys = repo.signingKeys('snapshot');
  const snapshotSigners = snapshotKeys === undefined ? [] : await ctx.keys.signersFor(snapshotKeys.keys);
  if (snapshotKeys !== undefined && snapshotSigners.length > 0 && snapshotSigners.length >= snapshotKeys.threshold) {
    const meta = new Map<RoleName, FileMeta>(state.snapshot?.signed.meta ?? []);
    for (const role of repo.deleted) meta.delete(role);
    meta.set('root', roleMetaFromBytes(files.get('root') ?? state.root.raw));
    for (const [role, env] of state.targets) if (!meta.has(role) && !repo.deleted.has(role)) meta.set(role, roleMetaFromBytes(env.raw));
    for (const [role, bytes] of files) meta.set(role, roleMetaFromBytes(bytes));
    const snapshot = await signMetadata(nextSnapshot(state.snapshot?.signed, meta, ctx.now), snapshotSigners);
    log.info(`signed snapshot v${snapshot.signed.version}`);
    files.set('snapshot', snapshot.raw);
  } else if (state.initial) {
    throw new RepositoryError('MISSING_META', `the first publish of ${ctx.gun} needs the snapshot key, which is not in the key store`);
  } else log.info('the snapshot key is not held here: the server signs the snapshot');

  const size = [...files.values()].reduce((n, b) => n + b.length, 0);
  log.info(`uploading ${[...files.keys()].join(', ')} (${size} bytes)`);
  const upload = progress.begin(`publishing ${ctx.gun}`, size, { minTotal: 4 << 20, unit: 'bytes' });
  try {
    await ctx.remote.publish(files);
    upload.tick(size);
  } catch (e) {
    throw mapLostAnswer(ctx, mapBadHierarchy(ctx, e));
  } finally {
    upload.done();
  }
  // Only now: the server holds exactly these bytes. The applied changes go first, so that a local
  // failure after this point cannot leave them staged to be applied a second time.
  if (ctx.changes === undefined) state.warnings.push(...dropApplied(ctx, changes, 'the server accepted them'));
  const uncached = ctx.cache.recordAccepted(new Map([...state.downloads, ...files]), repo.deleted);
  if (uncached !== undefined) state.warnings.push(uncached);
  state.warnings.push(...publishWarnings(ctx.gun, state, files, signedTargets, ctx.now));
  return { roles: [...files.keys()], applied: changes.length, warnings: state.warnings };
}

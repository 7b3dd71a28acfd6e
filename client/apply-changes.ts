// SPDX-License-Identifier: Apache-2.0
// Apply staged changes, in order, to a WorkingRepo built from the latest
// verified remote state (notary client applyChangelist, same semantics and
// order). Every change either applies completely or stops the publish with a
// ChangeNotApplicableError that names the change, says why, and how to drop
// it; nothing is sent then. Stricter than notary where it silently ignores:
//   - adding a target outside the delegation's paths, to a delegation that is
//     gone, or without holding a key for the role (notary: same refusal);
//   - removing a key ID a delegation does not have, or deleting a delegation
//     that no longer exists (notary: a silent no-op);
//   - creating a delegation without keys, or an update that leaves fewer keys
//     than the threshold (notary: a warning, and an unusable role);
//   - a threshold in an update is applied (notary 0.7 ignores it for existing roles).

import { UsageError, type TrustErrorOptions } from '../shared/errors.js';
import { checkDelegationCertificate } from '../shared/crypto/index.js';
import { canonicalKeyId } from '../shared/codec/notary-keys.js';
import { DEFAULT_EXPIRY_SECONDS, expiresAfter } from '../shared/time.js';
import { isDelegationRoleName, isTargetsRoleName, isTopLevelRole } from '../shared/tuf/names.js';
import type { Envelope, PublicKey, RoleName, Targets } from '../shared/tuf/model.js';
import { isTargetInScope, parentOf, restrictPaths, verifyDelegate, type RoleScope } from '../shared/verify/index.js';
import type { StoredChange } from './changelist.js';
import { isWildDelegation, parseDelegationChange, parseRootRoleChange, type DelegationChange } from './changes.js';
import { checkCustomValue, checkTargetName, parseFileMeta } from './metadata.js';
import { WorkingRepo, type WorkingTargets } from './working-repo.js';

/** A staged change that cannot be applied to the current remote state. */
export class ChangeNotApplicableError extends UsageError {
  constructor(
    readonly index: number,
    message: string,
    options?: TrustErrorOptions,
  ) {
    super(message, options);
  }
}

export interface ApplyContext {
  readonly gun: string;
  readonly now: Date;
  /** Whether the key store holds a private key for any of `keys`. */
  readonly holdsAny: (keys: readonly PublicKey[]) => Promise<boolean>;
  /** Metadata of delegations that failed verification (for witness), by role. */
  readonly invalid: ReadonlyMap<RoleName, Envelope<Targets>>;
  /** Versions the server holds of roles that are created afresh here (publish.ts versionFloors). */
  readonly versionFloor?: ReadonlyMap<RoleName, number>;
  readonly warn: (message: string) => void;
  /** False when the changes were never staged (e.g. `sign`): then there is nothing to reset. */
  readonly staged?: boolean;
  /** -D: one line per change applied. */
  readonly debug?: (message: string) => void;
}

function describeChange(c: StoredChange): string {
  return `${c.action} ${c.type} ${c.role}${c.path === '' ? '' : ` ${JSON.stringify(c.path)}`}`;
}

function merge(list: readonly string[], add: readonly string[]): string[] {
  const out = [...list];
  for (const a of add) if (!out.includes(a)) out.push(a);
  return out;
}

class Applier {
  #index = 0;
  #change: StoredChange | undefined;
  /**
   * Roles already found writable by a target change (delegated, a key held), with their scope.
   * Target changes cannot alter that, so a thousand of them check it once; any other change
   * (delegation, root, witness) may, and empties this.
   */
  readonly #writable = new Map<RoleName, RoleScope>();

  constructor(
    readonly repo: WorkingRepo,
    readonly ctx: ApplyContext,
  ) {}

  fail(why: string, cause?: unknown): never {
    const c = this.#change!;
    throw new ChangeNotApplicableError(
      this.#index,
      this.ctx.staged === false
        ? `change ${describeChange(c)} cannot be applied to the current state of ${this.ctx.gun}: ${why}. Nothing was published`
        : `staged change #${this.#index} (${describeChange(c)}) cannot be applied to the current state of ${this.ctx.gun}: ${why}. Nothing was published; fix the cause, or drop the change with \`signet reset ${this.ctx.gun} -n ${this.#index}\``,
      cause === undefined ? undefined : { cause },
    );
  }

  async apply(changes: readonly StoredChange[]): Promise<void> {
    for (const [i, c] of changes.entries()) {
      this.#index = i;
      this.#change = c;
      this.ctx.debug?.(`applying change #${i}: ${describeChange(c)} (${c.file})`);
      if (c.type === 'target' && isTargetsRoleName(c.role)) {
        await this.#target(c);
        continue;
      }
      this.#writable.clear();
      if (c.type === 'delegation' && (isDelegationRoleName(c.role) || isWildDelegation(c.role))) await this.#delegation(c);
      else if (c.type === 'witness' && isTargetsRoleName(c.role)) this.#witness(c.role);
      else if (c.type === 'role' && c.role === 'root') this.#rootRole(c);
      else this.fail(`notary defines no change of type ${JSON.stringify(c.type)} on scope ${JSON.stringify(c.role)}`);
    }
  }

  async #requireSigner(role: RoleName): Promise<void> {
    const signing = this.repo.signingKeys(role);
    if (signing === undefined) this.fail(`${role} is not delegated in ${this.ctx.gun} (any more)`);
    if (!(await this.ctx.holdsAny(signing.keys))) {
      const ids = signing.keys.map((k) => canonicalKeyId(k).slice(0, 12)).join(', ') || 'none';
      this.fail(`you hold no private key for ${role} (its keys: ${ids}); import one with \`signet key import\` or \`notary key import\``);
    }
  }

  /**
   * The working copy of a role a change writes. One the refresh skipped keeps its content when its
   * current file still meets its delegation's keys (it was skipped for expiry: re-signing renews
   * it, as witness does); one whose keys changed, or that this changelist deleted, starts afresh
   * above the version the server holds (versionFloor), as notary starts it (InitTargets).
   */
  #metaFor(role: RoleName): WorkingTargets {
    const loaded = this.repo.roles.get(role);
    if (loaded !== undefined) return loaded;
    const skipped = this.repo.deleted.has(role) ? undefined : this.ctx.invalid.get(role);
    if (skipped !== undefined) {
      if (this.#meetsKeys(role, skipped)) {
        const revived = WorkingRepo.fromTargets(skipped.signed);
        this.repo.roles.set(role, revived);
        return revived;
      }
      if (skipped.signed.targets.size > 0) {
        this.ctx.warn(
          `${role}'s current metadata no longer verifies under its delegation's keys, so its ${skipped.signed.targets.size} target(s) are not carried over; ` +
            `to keep them, reset this publish and run \`signet witness ${this.ctx.gun} ${role}\` first`,
        );
      }
    }
    return this.repo.init(role, expiresAfter(this.ctx.now, DEFAULT_EXPIRY_SECONDS.targets), this.ctx.versionFloor?.get(role) ?? 0);
  }

  #meetsKeys(role: RoleName, env: Envelope<Targets>): boolean {
    const parent = parentOf(role);
    const entry = this.repo.delegationEntry(role);
    const keys = parent === undefined ? undefined : this.repo.view(parent)?.delegations?.keys;
    if (entry === undefined || keys === undefined) return false;
    try {
      verifyDelegate(role, keys, entry, env);
      return true;
    } catch {
      return false;
    }
  }

  async #target(c: StoredChange): Promise<void> {
    if (c.action === 'create') {
      if (c.data === null) this.fail('it carries no target meta');
      let meta;
      try {
        meta = parseFileMeta(c.data, c.file);
        // signet checks these when it stages; a change another tool staged is checked here, so
        // the failure names the change to drop instead of surfacing at signing
        checkTargetName(c.path);
        if (meta.custom !== undefined) checkCustomValue(meta.custom, c.file);
      } catch (cause) {
        this.fail(cause instanceof UsageError ? (cause as Error).message : `its target meta is unreadable (${(cause as Error).message})`, cause);
      }
      const known = this.#writable.get(c.role);
      if (known === undefined && !this.repo.isDelegated(c.role)) this.fail(`${c.role} is not delegated in ${this.ctx.gun} (any more); ask the owner to add the delegation, or stage the target for another role`);
      const scope = known ?? this.repo.scopeOf(c.role);
      if (!isTargetInScope(c.path, scope)) {
        const paths = this.repo.delegationEntry(c.role)?.paths ?? [];
        this.fail(`target ${JSON.stringify(c.path)} is outside the paths delegated to ${c.role} (${paths.map((p) => JSON.stringify(p)).join(', ') || 'none'})`);
      }
      if (known === undefined) {
        await this.#requireSigner(c.role);
        this.#writable.set(c.role, scope);
      }
      const w = this.#metaFor(c.role);
      w.targets.set(c.path, meta);
      w.dirty = true;
    } else if (c.action === 'delete') {
      // a role skipped only for expiry is revived (its targets are still its delegate's word)
      const skipped = this.ctx.invalid.get(c.role);
      const w = this.repo.roles.get(c.role) ?? (skipped !== undefined && this.#meetsKeys(c.role, skipped) ? this.#metaFor(c.role) : undefined);
      if (w === undefined || !w.targets.has(c.path)) return; // nothing to remove: as notary, not an error
      if (!this.#writable.has(c.role)) await this.#requireSigner(c.role);
      w.targets.delete(c.path);
      w.dirty = true;
    } else this.fail(`target changes are create or delete, not ${c.action}`);
  }

  #parseDelegation(c: StoredChange): DelegationChange {
    try {
      return parseDelegationChange(c.data, c.file);
    } catch (cause) {
      return this.fail(`its delegation data is unreadable (${(cause as Error).message})`, cause);
    }
  }

  async #delegation(c: StoredChange): Promise<void> {
    const d = this.#parseDelegation(c);
    if (isWildDelegation(c.role)) {
      if (c.action !== 'update') this.fail('a wildcard scope only removes keys (delegation purge)');
      await this.#purge(c.role.slice(0, -2), d.removeKeys);
      return;
    }
    const role = c.role;
    const parent = parentOf(role)!;
    if (!this.repo.isDelegated(parent)) this.fail(`its delegator ${parent} is not delegated in ${this.ctx.gun}`);
    await this.#requireSigner(parent);
    const existing = this.repo.delegationEntry(role);
    if (c.action === 'delete') {
      if (existing === undefined) this.fail(`${role} is not delegated in ${this.ctx.gun} any more, so there is nothing to delete`);
      const w = this.repo.roles.get(parent)!;
      w.roles = w.roles.filter((r) => r.name !== role);
      WorkingRepo.removeUnusedKeys(w);
      w.dirty = true;
      this.repo.roles.delete(role);
      this.repo.deleted.add(role);
      return;
    }
    if (c.action === 'update' && existing === undefined) this.fail(`${role} is not delegated in ${this.ctx.gun} (any more)`);
    if (c.action !== 'create' && c.action !== 'update') this.fail(`delegation changes are create, update or delete, not ${c.action}`);
    for (const k of d.addKeys) {
      const problem = k.certificates[0] === undefined ? (k.algorithm === 'unknown' ? `key type ${k.keyType} is not supported` : null) : checkDelegationCertificate(k.certificates[0]);
      if (problem !== null) this.fail(`key ${canonicalKeyId(k).slice(0, 12)} cannot be a delegation key: ${problem}`);
    }
    // New paths must lie within the delegator's own paths (notary delegationUpdateVisitor).
    const parentPaths = parent === 'targets' ? [''] : (this.repo.scopeOf(parent).chain.at(-1)?.paths ?? []);
    const outside = d.addPaths.filter((p) => restrictPaths(parentPaths, [p]).length === 0);
    if (outside.length > 0) this.fail(`paths ${outside.map((p) => JSON.stringify(p)).join(', ')} are outside the paths of its delegator ${parent}`);

    const removeIds: string[] = [];
    if (existing !== undefined && d.removeKeys.length > 0) {
      const byCanonical = new Map<string, string>();
      const keys = this.repo.roles.get(parent)!.keys;
      for (const id of existing.keyIds) {
        const k = keys.get(id);
        byCanonical.set(k === undefined ? id : canonicalKeyId(k), id);
      }
      for (const canon of d.removeKeys) {
        const id = byCanonical.get(canon) ?? (existing.keyIds.includes(canon) ? canon : undefined);
        if (id === undefined) this.fail(`${role} has no key ${canon} (see \`signet delegation list ${this.ctx.gun}\` for its key IDs)`);
        removeIds.push(id);
      }
    }
    let keyIds = existing === undefined ? [] : existing.keyIds.filter((id) => !removeIds.includes(id));
    keyIds = merge(keyIds, d.addKeys.map((k) => k.id));
    let paths = existing?.paths === undefined ? [] : existing.paths.filter((p) => !d.removePaths.includes(p));
    if (d.clearPaths) paths = [];
    paths = merge(paths, d.addPaths);
    // A change's threshold applies to a role it creates only: `delegation add` always stages 1, and an
    // existing role keeps its own (as notary keeps it), so adding a key never lowers a sign-off quorum.
    const threshold = existing !== undefined ? existing.threshold : d.threshold > 0 ? d.threshold : 1;
    if (keyIds.length === 0) {
      this.fail(existing === undefined ? `${role} does not exist yet and this change adds no keys to it; add it with keys: \`signet delegation add ${this.ctx.gun} ${role} <cert>\`` : `it would leave ${role} without keys; remove the whole delegation instead`);
    }
    if (keyIds.length < threshold) this.fail(`it would leave ${role} with ${keyIds.length} key(s) for a threshold of ${threshold}`);

    const w = this.repo.roles.get(parent) ?? this.#metaFor(parent);
    for (const k of d.addKeys) w.keys.set(k.id, k);
    const entry = { name: role, keyIds, threshold, terminating: false, ...(paths.length === 0 ? {} : { paths }) };
    const at = w.roles.findIndex((r) => r.name === role);
    if (at < 0) w.roles.push(entry);
    else w.roles[at] = entry;
    WorkingRepo.removeUnusedKeys(w);
    w.dirty = true;
  }

  // notary PurgeDelegationKeys: every role below `start` loses the keys; roles we cannot sign are skipped with a warning.
  async #purge(start: RoleName, canonicalIds: readonly string[]): Promise<void> {
    if (canonicalIds.length === 0) this.fail('it names no key to remove');
    const targets = [start, ...this.repo.allDelegations().map((d) => d.role.name).filter((r) => r.startsWith(`${start}/`))];
    for (const role of targets) {
      const w = this.repo.roles.get(role);
      if (w === undefined) continue;
      const doomed = [...w.keys].filter(([, k]) => canonicalIds.includes(canonicalKeyId(k))).map(([id]) => id);
      if (doomed.length === 0) continue;
      const signing = this.repo.signingKeys(role);
      if (signing === undefined || !(await this.ctx.holdsAny(signing.keys))) {
        this.ctx.warn(`${role} lists keys being purged but you hold no key to sign it; the keys stay in ${role}`);
        continue;
      }
      const purged = w.roles.map((r) => ({ ...r, keyIds: r.keyIds.filter((id) => !doomed.includes(id)) }));
      // As `delegation remove` refuses it: a role left below its threshold could sign nothing, and its
      // targets would vanish for every reader (notary lets this through).
      const short = purged.filter((r) => r.keyIds.length < r.threshold);
      if (short.length > 0) {
        this.fail(
          `it would leave ${short.map((r) => `${r.name} with ${r.keyIds.length} key(s) for a threshold of ${r.threshold}`).join(', ')}; ` +
            `add its new key first (\`signet delegation add ${this.ctx.gun} <role> <cert>\`), or remove the whole delegation (\`signet delegation remove ${this.ctx.gun} <role>\`)`,
        );
      }
      for (const id of doomed) w.keys.delete(id);
      w.roles = purged;
      w.dirty = true;
    }
  }

  // notary witnessTargets: a valid role is re-signed as is; an invalid one (e.g. after a key change) is revived.
  #witness(role: RoleName): void {
    const w = this.repo.roles.get(role);
    if (w !== undefined) {
      w.dirty = true;
      return;
    }
    const entry = this.repo.delegationEntry(role);
    const invalid = this.ctx.invalid.get(role);
    if (entry === undefined || !this.repo.isDelegated(role)) this.fail(`${role} is not delegated in ${this.ctx.gun}`);
    if (entry.threshold > entry.keyIds.length) this.fail(`${role} lists fewer keys than its threshold; add keys before witnessing it`);
    if (invalid === undefined) this.fail(`${role} has no metadata on the server to re-sign`);
    const revived = WorkingRepo.fromTargets(invalid.signed);
    revived.dirty = true;
    this.repo.roles.set(role, revived);
  }

  // notary applyRootRoleChange: replace the keys of a base role; the role is re-signed too.
  #rootRole(c: StoredChange): void {
    if (c.action !== 'create') this.fail(`root changes are create, not ${c.action}`);
    let d;
    try {
      d = parseRootRoleChange(c.data, c.file);
    } catch (cause) {
      this.fail(`its data is unreadable (${(cause as Error).message})`, cause);
    }
    if (!isTopLevelRole(d.role)) this.fail(`${JSON.stringify(d.role)} is not a base role`);
    if (d.keys.length === 0) this.fail(`it gives ${d.role} no keys`);
    const root = this.repo.root;
    const old = root.roles.get(d.role);
    const threshold = old?.threshold ?? 1;
    if (d.keys.length < threshold) this.fail(`it gives ${d.role} ${d.keys.length} key(s) for a threshold of ${threshold}`);
    root.roles.set(d.role, { keyIds: d.keys.map((k) => k.id), threshold });
    for (const k of d.keys) root.keys.set(k.id, k);
    // Root keys stay listed (a rotation is signed by the old ones too), as notary keeps them.
    if (d.role !== 'root') {
      const used = new Set([...root.roles.values()].flatMap((r) => r.keyIds));
      for (const id of old?.keyIds ?? []) if (!used.has(id)) root.keys.delete(id);
    }
    root.dirty = true;
    if (d.role === 'targets') {
      const t = this.repo.roles.get('targets');
      if (t !== undefined) t.dirty = true;
    }
  }
}

/**
 * Apply `changes` in order to `repo`.
 * @throws {ChangeNotApplicableError} for the first change that does not apply.
 */
export async function applyChanges(repo: WorkingRepo, changes: readonly StoredChange[], ctx: ApplyContext): Promise<void> {
  await new Applier(repo, ctx).apply(changes);
}

// SPDX-License-Identifier: Apache-2.0
// The mutable copy of a repository that a publish edits (notary's tuf.Repo
// during applyChangelist): the verified remote state, role by role, with a
// dirty flag per role. Nothing here signs or talks to a server; it answers
// the questions change application asks: who may sign a role, which paths a
// delegation covers, which delegations exist.

import { canonicalKeyId } from '../shared/codec/notary-keys.js';
import type { DelegatedRole, Envelope, PublicKey, Root, RoleKeys, RoleName, Snapshot, TargetFile, Targets } from '../shared/tuf/model.js';
import { findDelegatedRole, parentOf, resolveRoleScope, type RoleScope } from '../shared/verify/index.js';

export interface WorkingTargets {
  /** The metadata as verified (or an empty version-0 body for a role without metadata yet). */
  readonly base: Targets;
  targets: Map<string, TargetFile>;
  keys: Map<string, PublicKey>;
  roles: DelegatedRole[];
  dirty: boolean;
}

export interface WorkingRoot {
  readonly base: Envelope<Root>;
  keys: Map<string, PublicKey>;
  roles: Map<string, RoleKeys>;
  dirty: boolean;
}

export class WorkingRepo {
  readonly root: WorkingRoot;
  readonly roles = new Map<RoleName, WorkingTargets>();
  /** Delegations deleted by a change: their snapshot meta goes too. */
  readonly deleted = new Set<RoleName>();
  readonly snapshot: Envelope<Snapshot> | undefined;

  constructor(root: Envelope<Root>, targets: ReadonlyMap<RoleName, Envelope<Targets>>, snapshot: Envelope<Snapshot> | undefined) {
    this.root = { base: root, keys: new Map(root.signed.keys), roles: new Map(root.signed.roles), dirty: false };
    for (const [role, env] of targets) this.roles.set(role, WorkingRepo.fromTargets(env.signed));
    this.snapshot = snapshot;
  }

  static fromTargets(t: Targets): WorkingTargets {
    return {
      base: t,
      targets: new Map(t.targets),
      keys: new Map(t.delegations?.keys ?? []),
      roles: (t.delegations?.roles ?? []).map((r) => ({ ...r, keyIds: [...r.keyIds], ...(r.paths === undefined ? {} : { paths: [...r.paths] }) })),
      dirty: false,
    };
  }

  /** The current (edited) targets body of a role, or undefined when it has no metadata here. */
  view(role: RoleName): Targets | undefined {
    const w = this.roles.get(role);
    if (w === undefined) return undefined;
    return { ...w.base, targets: w.targets, delegations: { keys: w.keys, roles: w.roles } };
  }

  /** Start metadata for a role that has none yet (notary InitTargets); its first version will be 1. */
  /** A new, empty role; signed as `version` + 1 (`version`: what the server already holds, if anything). */
  init(role: RoleName, expires: Targets['expires'], version = 0): WorkingTargets {
    const w = WorkingRepo.fromTargets({ type: 'targets', version, expires, targets: new Map(), delegations: null });
    this.roles.set(role, w);
    this.deleted.delete(role);
    return w;
  }

  /** The delegation entry of `role` in its parent's current metadata. */
  delegationEntry(role: RoleName): DelegatedRole | undefined {
    const parent = parentOf(role);
    const meta = parent === undefined ? undefined : this.view(parent);
    return parent === undefined || meta === undefined ? undefined : findDelegatedRole(meta, parent, role);
  }

  /**
   * Whether `role` is delegated all the way down from `targets` in the current state
   * (every ancestor has metadata and lists the next one).
   */
  isDelegated(role: RoleName): boolean {
    if (role === 'targets') return true;
    try {
      resolveRoleScope(role, (r) => this.view(r));
      return true;
    } catch {
      return false;
    }
  }

  /** @throws {RepositoryError} BAD_DELEGATION when `role` is not delegated (see isDelegated). */
  scopeOf(role: RoleName): RoleScope {
    return resolveRoleScope(role, (r) => this.view(r));
  }

  /** Keys allowed to sign `role` and its threshold, by the IDs its delegator lists. */
  signingKeys(role: RoleName): { keys: PublicKey[]; threshold: number } | undefined {
    const pick = (all: ReadonlyMap<string, PublicKey>, ids: readonly string[]): PublicKey[] => ids.flatMap((id) => all.get(id) ?? []);
    if (role === 'root' || role === 'targets' || role === 'snapshot' || role === 'timestamp') {
      const entry = this.root.roles.get(role);
      return entry === undefined ? undefined : { keys: pick(this.root.keys, entry.keyIds), threshold: entry.threshold };
    }
    const parent = parentOf(role);
    const entry = this.delegationEntry(role);
    if (parent === undefined || entry === undefined || !this.isDelegated(role)) return undefined;
    return { keys: pick(this.roles.get(parent)!.keys, entry.keyIds), threshold: entry.threshold };
  }

  /** Drop delegation keys no role of `w` refers to (notary RemoveUnusedKeys). */
  static removeUnusedKeys(w: WorkingTargets): void {
    const used = new Set(w.roles.flatMap((r) => r.keyIds));
    for (const id of [...w.keys.keys()]) if (!used.has(id)) w.keys.delete(id);
  }

  /** Every delegation reachable from `targets`, parents before children, each with its delegator. */
  allDelegations(): Array<{ parent: RoleName; role: DelegatedRole; keys: ReadonlyMap<string, PublicKey> }> {
    const out: Array<{ parent: RoleName; role: DelegatedRole; keys: ReadonlyMap<string, PublicKey> }> = [];
    const queue: RoleName[] = ['targets'];
    const seen = new Set<RoleName>();
    for (let r = queue.shift(); r !== undefined; r = queue.shift()) {
      if (seen.has(r)) continue;
      seen.add(r);
      const w = this.roles.get(r);
      if (w === undefined) continue;
      for (const d of w.roles) {
        if (parentOf(d.name) !== r) continue;
        out.push({ parent: r, role: d, keys: w.keys });
        queue.push(d.name);
      }
    }
    return out;
  }
}

/** Canonical IDs of a delegation's keys, in the role's order (what `delegation list` prints). */
export function canonicalIdsOf(role: DelegatedRole, keys: ReadonlyMap<string, PublicKey>): string[] {
  return role.keyIds.map((id) => {
    const k = keys.get(id);
    return k === undefined ? id : canonicalKeyId(k);
  });
}

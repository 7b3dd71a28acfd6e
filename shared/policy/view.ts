// SPDX-License-Identifier: Apache-2.0
// A VerifiedRepositoryView over a TrustedMetadataSet that has loaded the
// whole chain. Each role answers only for names inside its delegated scope
// (a role may list names it was never allowed to sign: those do not count).

import type { PublicKey, RoleName, TargetFile } from '../tuf/model.js';
import { isTargetInScope, type RoleScope } from '../verify/delegations.js';
import type { TrustedMetadataSet } from '../verify/trusted-set.js';
import type { VerifiedRepositoryView } from './types.js';

export interface ViewOptions {
  /** Root the chain was anchored on (first trusted root); defaults to the set's current root. */
  readonly anchorRootKeys?: readonly PublicKey[];
  readonly timestampSignedAt?: Date;
}

/** Root-role keys of a root envelope's signed part. */
export function rootRoleKeys(set: Pick<TrustedMetadataSet, 'root'>): PublicKey[] {
  const root = set.root.signed;
  const ids = root.roles.get('root')?.keyIds ?? [];
  return ids.map((id) => root.keys.get(id)).filter((k): k is PublicKey => k !== undefined);
}

export function viewFromTrustedSet(set: TrustedMetadataSet, gun: string, options: ViewOptions = {}): VerifiedRepositoryView {
  const scopes = new Map<RoleName, RoleScope | null>();
  const scopeOf = (role: RoleName): RoleScope | null => {
    let scope = scopes.get(role);
    if (scope === undefined) {
      try {
        scope = set.getTargets(role) === undefined ? null : set.scopeOf(role);
      } catch {
        scope = null; // not reachable through loaded delegations: it vouches for nothing
      }
      scopes.set(role, scope);
    }
    return scope;
  };
  const inRole = new Map<RoleName, ReadonlyMap<string, TargetFile>>();
  const view: VerifiedRepositoryView = {
    gun,
    anchorRootKeys: options.anchorRootKeys ?? rootRoleKeys(set),
    targetInRole(role, name) {
      const scope = scopeOf(role);
      if (scope === null || !isTargetInScope(name, scope)) return undefined;
      return set.getTargets(role)?.signed.targets.get(name);
    },
    targetsOfRole(role) {
      let found = inRole.get(role);
      if (found === undefined) {
        const scope = scopeOf(role);
        const all = set.getTargets(role)?.signed.targets ?? new Map<string, TargetFile>();
        found = new Map([...all].filter(([name]) => scope !== null && isTargetInScope(name, scope)));
        inRole.set(role, found);
      }
      return found;
    },
  };
  return options.timestampSignedAt === undefined ? view : { ...view, timestampSignedAt: options.timestampSignedAt };
}

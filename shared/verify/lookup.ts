// SPDX-License-Identifier: Apache-2.0
// Target search over verified targets metadata, in notary's order (client
// reader GetTargetByName / ListTargets over tuf.Repo.WalkTargets):
//   - breadth-first from `targets`, children in `delegations.roles` order;
//   - the first role (in that order) holding a name wins;
//   - a role is visited only if the name is in its scope; roles whose paths do
//     not match are not descended for lookups;
//   - roles without loaded metadata are skipped together with their subtree;
//   - listing visits every role and keeps, per name, the first role in order
//     whose scope covers the name (names outside a role's scope are ignored).
// With `roles` (CLI `-r`), each role in turn is searched within its own subtree
// and the other listed roles are skipped, as notary does.
// Limits (Signet; notary has none): a walk deeper than `maxDepth` delegation
// levels or visiting more than `maxRolesVisited` roles is refused with
// RepositoryError BAD_DELEGATION rather than silently truncated.

import { RepositoryError } from '../errors.js';
import type { RoleName, TargetFile, Targets } from '../tuf/model.js';
import { TARGETS_SCOPE, childScope, isTargetInScope, parentOf, type RoleScope } from './delegations.js';

export interface WalkLimits {
  /** Deepest delegation level walked (`targets/a` is 1). */
  readonly maxDepth: number;
  /** Most roles whose metadata one walk examines. */
  readonly maxRolesVisited: number;
}

export const DEFAULT_WALK_LIMITS: WalkLimits = { maxDepth: 16, maxRolesVisited: 512 };

export interface TargetMatch {
  readonly name: string;
  /** The role that vouches for the target. */
  readonly role: RoleName;
  readonly target: TargetFile;
}

/** Verified targets metadata by role name; undefined when not loaded. */
export type TargetsSource = (role: RoleName) => Targets | undefined;

export interface LookupOptions {
  /** Search only these roles' subtrees, in this order (`-r`). Default: [`targets`]. */
  readonly roles?: readonly RoleName[];
  readonly limits?: WalkLimits;
}

function isInSubtree(role: RoleName, root: RoleName): boolean {
  return role === root || role.startsWith(`${root}/`);
}

/**
 * Breadth-first walk (notary WalkTargets). `targetName` undefined = visit every role (listing).
 * `visit` returns true to stop the walk.
 */
function walk(
  source: TargetsSource,
  subtree: RoleName,
  skip: readonly RoleName[],
  targetName: string | undefined,
  limits: WalkLimits,
  visit: (meta: Targets, scope: RoleScope) => boolean,
): void {
  const queue: RoleScope[] = [TARGETS_SCOPE];
  let visited = 0;
  const enqueueChildren = (meta: Targets, scope: RoleScope): void => {
    for (const child of meta.delegations?.roles ?? []) {
      if (parentOf(child.name) !== scope.role) continue; // not a direct child: notary drops it as invalid
      if (scope.depth + 1 > limits.maxDepth) {
        throw new RepositoryError('BAD_DELEGATION', `delegation ${child.name} is nested deeper than ${limits.maxDepth} levels; the repository's delegation tree is too deep to search`);
      }
      queue.push(childScope(scope, child));
    }
  };
  for (let scope = queue.shift(); scope !== undefined; scope = queue.shift()) {
    // An ancestor of the requested subtree is passed through without being visited.
    const passThrough = subtree.startsWith(`${scope.role}/`);
    if (!passThrough) {
      if (!isInSubtree(scope.role, subtree) || skip.includes(scope.role)) continue;
      // Decided before touching the role's metadata, so a lazy source never fetches roles that cannot match.
      if (targetName !== undefined && !isTargetInScope(targetName, scope)) continue;
    }
    const meta = source(scope.role);
    if (meta === undefined) continue;
    if (++visited > limits.maxRolesVisited) {
      throw new RepositoryError('BAD_DELEGATION', `searching targets visited more than ${limits.maxRolesVisited} roles; the repository's delegation tree is too large to search`);
    }
    if (!passThrough && visit(meta, scope)) return;
    enqueueChildren(meta, scope);
  }
}

/**
 * Find target `name`: the first role in search order that lists it within its scope.
 * @throws {RepositoryError} BAD_DELEGATION when the walk exceeds its limits.
 */
export function lookupTarget(name: string, source: TargetsSource, options: LookupOptions = {}): TargetMatch | undefined {
  const roles = options.roles ?? ['targets'];
  const limits = options.limits ?? DEFAULT_WALK_LIMITS;
  for (const role of roles) {
    let found: TargetMatch | undefined;
    walk(source, role, roles.filter((r) => r !== role), name, limits, (meta, scope) => {
      const target = meta.targets.get(name);
      if (target === undefined) return false;
      found = { name, role: scope.role, target };
      return true;
    });
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Every target visible from `targets` (or the given roles), each attributed to the
 * first role in search order whose scope covers it. Sorted by name.
 * @throws {RepositoryError} BAD_DELEGATION when the walk exceeds its limits.
 */
export function listTargets(source: TargetsSource, options: LookupOptions = {}): TargetMatch[] {
  const roles = options.roles ?? ['targets'];
  const limits = options.limits ?? DEFAULT_WALK_LIMITS;
  const found = new Map<string, TargetMatch>();
  for (const role of roles) {
    walk(source, role, roles.filter((r) => r !== role), undefined, limits, (meta, scope) => {
      for (const [name, target] of meta.targets) {
        if (!found.has(name) && isTargetInScope(name, scope)) found.set(name, { name, role: scope.role, target });
      }
      return false;
    });
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

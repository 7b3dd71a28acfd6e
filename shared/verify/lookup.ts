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
// Limits (Signet; notary has none): delegations deeper than `maxDepth` levels
// are not searched, and a walk stops after `maxRolesVisited` roles. A delegate
// can nest roles only below its own, so this keeps one delegate from stopping
// every lookup in the repository; `onLimit` says what was left out (truncation
// can only lose matches, never substitute one: the first match in order wins).

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
  /** Told, once per kind, what the limits left out of the search. */
  readonly onLimit?: (message: string) => void;
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
  onLimit: (message: string) => void,
  visit: (meta: Targets, scope: RoleScope) => boolean,
): void {
  const queue: RoleScope[] = [TARGETS_SCOPE];
  let visited = 0;
  let tooDeep = false;
  const enqueueChildren = (meta: Targets, scope: RoleScope): void => {
    for (const child of meta.delegations?.roles ?? []) {
      if (parentOf(child.name) !== scope.role) continue; // not a direct child: notary drops it as invalid
      if (scope.depth + 1 > limits.maxDepth) {
        if (!tooDeep) onLimit(`delegations below ${scope.role} are nested deeper than ${limits.maxDepth} levels and were not searched; ask its delegate to flatten them`);
        tooDeep = true;
        continue;
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
      onLimit(`the search stopped after ${limits.maxRolesVisited} delegated roles; ${scope.role} and the roles after it were not searched`);
      return;
    }
    if (!passThrough && visit(meta, scope)) return;
    enqueueChildren(meta, scope);
  }
}

/** Find target `name`: the first role in search order that lists it within its scope. */
export function lookupTarget(name: string, source: TargetsSource, options: LookupOptions = {}): TargetMatch | undefined {
  const roles = options.roles ?? ['targets'];
  const limits = options.limits ?? DEFAULT_WALK_LIMITS;
  const onLimit = onceEach(options.onLimit);
  for (const role of roles) {
    let found: TargetMatch | undefined;
    walk(source, role, roles.filter((r) => r !== role), name, limits, onLimit, (meta, scope) => {
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
 */
export function listTargets(source: TargetsSource, options: LookupOptions = {}): TargetMatch[] {
  const roles = options.roles ?? ['targets'];
  const limits = options.limits ?? DEFAULT_WALK_LIMITS;
  const found = new Map<string, TargetMatch>();
  const onLimit = onceEach(options.onLimit);
  for (const role of roles) {
    walk(source, role, roles.filter((r) => r !== role), undefined, limits, onLimit, (meta, scope) => {
      for (const [name, target] of meta.targets) {
        if (!found.has(name) && isTargetInScope(name, scope)) found.set(name, { name, role: scope.role, target });
      }
      return false;
    });
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Each distinct message once: several `-r` subtrees may hit the same limit. */
function onceEach(report: ((message: string) => void) | undefined): (message: string) => void {
  const said = new Set<string>();
  return (m) => {
    if (report === undefined || said.has(m)) return;
    said.add(m);
    report(m);
  };
}

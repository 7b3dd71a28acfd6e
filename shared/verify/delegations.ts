// SPDX-License-Identifier: Apache-2.0
// Delegation scopes (notary-wire.md §4.4): which target names a role may vouch for.
//
// A role's scope is the chain of roles from `targets` down to it; a target name
// is in scope when every role of the chain matches it. A role matches through
//   - its effective paths: plain string prefixes, `""` = everything. A child's
//     effective paths are its own paths that start with one of its parent's
//     effective paths (notary RestrictDelegationPathPrefixes), so a child can
//     never widen its parent; top-level `targets` has [""];
//   - or its path_hash_prefixes: the lowercase hex SHA-256 of the target name
//     starts with one of them (TUF semantics; notary 0.7 ignores the field and
//     such a role supplies nothing there, Signet honours it).
// A role with neither matches nothing. Clients ignore targets outside a role's
// scope; the Signet server refuses them (findTargetsOutsidePaths).

import { createHash } from 'node:crypto';
import { RepositoryError } from '../errors.js';
import type { DelegatedRole, RoleName, Targets } from '../tuf/model.js';

export interface RoleMatcher {
  /** Effective path prefixes; undefined when the role declares none. */
  readonly paths?: readonly string[];
  /** Lowercase hex prefixes of SHA-256(target name); undefined when none. */
  readonly hashPrefixes?: readonly string[];
}

export interface RoleScope {
  readonly role: RoleName;
  /** 0 for `targets`, 1 for `targets/x`, ... */
  readonly depth: number;
  /** One matcher per role from `targets` down to `role` (last). */
  readonly chain: readonly RoleMatcher[];
}

export const TARGETS_SCOPE: RoleScope = { role: 'targets', depth: 0, chain: [{ paths: [''] }] };

/** `path.Dir` of a delegation name: `targets/a/b` -> `targets/a`; top-level roles have none. */
export function parentOf(role: RoleName): RoleName | undefined {
  const i = role.lastIndexOf('/');
  return i <= 0 ? undefined : role.slice(0, i);
}

/** Own paths restricted to the parent's effective paths (prefix semantics, notary RestrictDelegationPathPrefixes). */
export function restrictPaths(parentPaths: readonly string[], ownPaths: readonly string[]): string[] {
  return ownPaths.filter((p) => parentPaths.some((q) => p.startsWith(q)));
}

/** The scope of `child`, delegated by the role whose scope is `parent`. */
export function childScope(parent: RoleScope, child: DelegatedRole): RoleScope {
  const parentMatcher = parent.chain[parent.chain.length - 1]!;
  let paths: readonly string[] | undefined;
  if (child.paths !== undefined && child.paths.length > 0) {
    // A parent matching only by hash has no prefixes to restrict with; the chain conjunction still confines the child.
    paths = parentMatcher.paths === undefined ? [...child.paths] : restrictPaths(parentMatcher.paths, child.paths);
  }
  const hashPrefixes = child.pathHashPrefixes !== undefined && child.pathHashPrefixes.length > 0 ? child.pathHashPrefixes.map((h) => h.toLowerCase()) : undefined;
  const matcher: RoleMatcher = { ...(paths === undefined ? {} : { paths }), ...(hashPrefixes === undefined ? {} : { hashPrefixes }) };
  return { role: child.name, depth: parent.depth + 1, chain: [...parent.chain, matcher] };
}

function matches(matcher: RoleMatcher, name: string, nameHash: () => string): boolean {
  if (matcher.paths?.some((p) => name.startsWith(p)) === true) return true;
  if (matcher.hashPrefixes !== undefined) {
    const h = nameHash();
    return matcher.hashPrefixes.some((p) => h.startsWith(p));
  }
  return false;
}

/** Whether `scope` may vouch for target `name`. */
export function isTargetInScope(name: string, scope: RoleScope): boolean {
  let hash: string | undefined;
  const nameHash = (): string => (hash ??= createHash('sha256').update(name, 'utf8').digest('hex'));
  return scope.chain.every((m) => matches(m, name, nameHash));
}

/**
 * Target names a role lists outside its scope. The Signet server refuses an upload
 * with any (notary accepts them and lets clients hide them). `scope` may be a bare
 * list of effective path prefixes.
 */
export function findTargetsOutsidePaths(targetNames: Iterable<string>, scope: RoleScope | readonly string[]): string[] {
  const s: RoleScope = isScope(scope) ? scope : { role: 'role', depth: 0, chain: [{ paths: scope }] };
  return [...targetNames].filter((n) => !isTargetInScope(n, s));
}

function isScope(scope: RoleScope | readonly string[]): scope is RoleScope {
  return !Array.isArray(scope);
}

/** The entry for `child` in `parent`'s delegations, if `child` is a direct child listed there. */
export function findDelegatedRole(parent: Targets, parentName: RoleName, child: RoleName): DelegatedRole | undefined {
  if (parentOf(child) !== parentName) return undefined;
  return parent.delegations?.roles.find((r) => r.name === child);
}

/**
 * Scope of `role` from the chain of loaded targets metadata (`targets`, then each ancestor).
 * @throws {RepositoryError} BAD_DELEGATION when an ancestor is not loaded or does not delegate to the next role.
 */
export function resolveRoleScope(role: RoleName, getTargets: (role: RoleName) => Targets | undefined): RoleScope {
  if (role === 'targets') return TARGETS_SCOPE;
  const ancestry: RoleName[] = [];
  for (let r: RoleName | undefined = role; r !== undefined && r !== 'targets'; r = parentOf(r)) ancestry.unshift(r);
  if (parentOf(ancestry[0] ?? '') !== 'targets') {
    throw new RepositoryError('BAD_DELEGATION', `${role} is not a delegation name: delegations are named targets/<name>`);
  }
  let scope = TARGETS_SCOPE;
  for (const name of ancestry) {
    const parentMeta = getTargets(scope.role);
    if (parentMeta === undefined) throw new RepositoryError('BAD_DELEGATION', `cannot place ${name}: its delegator ${scope.role} is not loaded; load ${scope.role} first`);
    const entry = findDelegatedRole(parentMeta, scope.role, name);
    if (entry === undefined) throw new RepositoryError('BAD_DELEGATION', `invalid role ${name}: ${scope.role} does not delegate to it; add the delegation to ${scope.role} first`);
    scope = childScope(scope, entry);
  }
  return scope;
}

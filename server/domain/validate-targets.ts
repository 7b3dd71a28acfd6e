// SPDX-License-Identifier: Apache-2.0
// Step 5 of a publish (notary-wire.md §7): every uploaded `targets` and
// delegation, shallowest first, verified by its delegator: root's targets
// role for `targets`, the parent's `delegations` entry for a delegation. A
// missing ancestor is loaded from the store and verified too (signatures only,
// its expiry is not judged, as notary does), so the whole chain holds under
// the root of this update.
// Stricter than notary: an uploaded role listing a target outside its
// effective delegated paths is refused (notary stores it and leaves clients
// to hide it).

import { RepositoryError } from '../../shared/errors.js';
import type { Envelope, PublicKey, RoleKeys, Root, Targets } from '../../shared/tuf/model.js';
import { childScope, findDelegatedRole, findTargetsOutsidePaths, parentOf, TARGETS_SCOPE, type RoleScope } from '../../shared/verify/delegations.js';
import { verifyNotExpired } from '../../shared/verify/expiry.js';
import { DEFAULT_WALK_LIMITS } from '../../shared/verify/lookup.js';
import { verifyDelegate } from '../../shared/verify/threshold.js';
import { UpdateRefusalError } from './errors.js';
import type { Uploaded } from './parse-parts.js';
import type { LoadedRole, RepoView } from './repo-view.js';

export interface VerifiedTargets {
  readonly loaded: LoadedRole<'targets'>;
  readonly scope: RoleScope;
}

interface Delegator {
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roleKeys: RoleKeys;
  readonly scope: RoleScope;
}

const SHOWN_OUTSIDE = 3;

function checkPaths(role: string, signed: Targets, scope: RoleScope): void {
  const outside = findTargetsOutsidePaths(signed.targets.keys(), scope);
  if (outside.length === 0) return;
  const shown = outside.slice(0, SHOWN_OUTSIDE).map((n) => JSON.stringify(n.slice(0, 80))).join(', ');
  throw new RepositoryError(
    'PATH_NOT_DELEGATED',
    `${outside.length} target(s) outside the paths delegated to ${role} (${shown}${outside.length > SHOWN_OUTSIDE ? ', …' : ''}); remove them or widen the delegation's paths`,
  );
}

/**
 * SECURITY: a delegation nested deeper than clients search (DEFAULT_WALK_LIMITS) could never be
 * found; refused where notary stores it, so every accepted delegation is reachable.
 */
function checkDepth(role: string, signed: Targets): void {
  for (const child of signed.delegations?.roles ?? []) {
    const depth = child.name.split('/').length - 1;
    if (depth > DEFAULT_WALK_LIMITS.maxDepth) {
      throw new RepositoryError('BAD_DELEGATION', `${role} delegates to ${child.name.slice(0, 120)}, ${depth} levels deep; clients search at most ${DEFAULT_WALK_LIMITS.maxDepth} levels: flatten the delegations`);
    }
  }
}

/**
 * Verify every uploaded targets role against its delegator.
 * @returns every targets role loaded on the way (uploaded ones and the stored ancestors they needed).
 * @throws {UpdateRefusalError} ErrBadTargets naming the role and what is wrong with it.
 */
export async function validateTargets(view: RepoView, uploads: readonly Uploaded<Targets>[], root: Envelope<Root>, now: Date): Promise<Map<string, VerifiedTargets>> {
  const verified = new Map<string, VerifiedTargets>();
  const uploaded = new Map(uploads.map((u) => [u.role, u]));

  async function delegatorOf(role: string): Promise<Delegator> {
    if (role === 'targets') {
      // validateRoot guarantees the role exists (the codec and the root check both require it).
      return { keys: root.signed.keys, roleKeys: root.signed.roles.get('targets')!, scope: TARGETS_SCOPE };
    }
    const parentName = parentOf(role)!;
    const parent = await resolve(parentName);
    if (parent === null) {
      throw new UpdateRefusalError(
        'ErrBadTargets',
        'BAD_DELEGATION',
        `invalid role ${role}: delegation does not exist because ${parentName} has no metadata; publish ${parentName} delegating to ${role} first`,
        { role },
      );
    }
    const parentSigned = parent.loaded.envelope.signed;
    const entry = findDelegatedRole(parentSigned, parentName, role);
    if (entry === undefined || parentSigned.delegations === null) {
      throw new UpdateRefusalError('ErrBadTargets', 'BAD_DELEGATION', `invalid role ${role}: delegation does not exist in ${parentName}; add the delegation to ${parentName} first`, {
        role,
      });
    }
    return { keys: parentSigned.delegations.keys, roleKeys: entry, scope: childScope(parent.scope, entry) };
  }

  async function resolve(role: string): Promise<VerifiedTargets | null> {
    const done = verified.get(role);
    if (done !== undefined) return done;
    const up = uploaded.get(role);
    const loaded: LoadedRole<'targets'> | null = up !== undefined ? { ...up, source: 'upload' } : await view.load(role, 'targets');
    if (loaded === null) return null;
    const delegator = await delegatorOf(role);
    const { signed } = loaded.envelope;
    try {
      verifyDelegate(role, delegator.keys, delegator.roleKeys, loaded.envelope);
      if (loaded.source === 'upload') {
        verifyNotExpired(role, signed, now);
        // SECURITY: Signet refuses targets a role may not vouch for (notary lets clients filter them).
        checkPaths(role, signed, delegator.scope);
        checkDepth(role, signed);
      }
    } catch (error) {
      const hint = loaded.source === 'store' ? `the stored ${role} no longer verifies under this update's root and delegations; re-sign it and include it in the update` : undefined;
      throw UpdateRefusalError.wrap('ErrBadTargets', role, error, hint);
    }
    const result = { loaded, scope: delegator.scope };
    verified.set(role, result);
    return result;
  }

  for (const u of uploads) await resolve(u.role);
  return verified;
}

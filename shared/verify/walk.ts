// SPDX-License-Identifier: Apache-2.0
// The order in which delegations are loaded after top-level targets, as notary's
// client downloads them: depth-first pre-order, children in the order their
// parent lists them, only roles the trusted snapshot records. One definition for
// every caller (the CLI refresh, offline checks, the server's policy checker).

import { ExpiredMetadataError, UnsignedMetadataError } from '../errors.js';
import type { RoleName } from '../tuf/model.js';
import type { TrustedMetadataSet } from './trusted-set.js';

export interface DelegationStep {
  readonly role: RoleName;
  readonly parent: RoleName;
}

/**
 * Yields each delegation to load; the caller answers `next(true)` when it loaded
 * the role (its children are then visited) and `next(false)` when it skipped it.
 * Works for synchronous and asynchronous loaders alike.
 */
export function* delegationOrder(set: TrustedMetadataSet): Generator<DelegationStep, void, boolean | undefined> {
  const stack: DelegationStep[] = [];
  const pushChildren = (parent: RoleName): void => {
    const roles = set.getTargets(parent)?.signed.delegations?.roles ?? [];
    for (let i = roles.length - 1; i >= 0; i--) {
      const name = roles[i]!.name;
      if (set.snapshot?.signed.meta.has(name) === true) stack.push({ role: name, parent });
    }
  };
  pushChildren('targets');
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    const loaded = yield step;
    if (loaded === true) pushChildren(step.role);
  }
}

/**
 * Whether a client skips a delegation that failed to load, with a warning, and goes on: only when
 * it has expired or its valid signatures fall short of the threshold (notary's downloadTargets).
 * Anything else (bytes that do not match the snapshot, a rollback, a file the server does not
 * have, metadata that does not parse, no signatures at all) fails the whole update: skipping it
 * would let a server hide one delegation so that a lower-priority one answers for its targets.
 */
export function isSkippableDelegationFailure(e: unknown): e is ExpiredMetadataError | UnsignedMetadataError {
  return e instanceof ExpiredMetadataError || (e instanceof UnsignedMetadataError && e.code === 'THRESHOLD_NOT_MET');
}

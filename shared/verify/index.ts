// SPDX-License-Identifier: Apache-2.0
// Public surface of shared/verify: thresholds, root rotation, delegation
// scopes, target search and the client's trusted metadata set. Pure code:
// bytes and a reference time in, model or typed error out.

export { getVerificationResult, verifyDelegate, type ThresholdOptions, type VerificationFailure, type VerificationResult } from './threshold.js';
export { isExpired, verifyNotExpired } from './expiry.js';
export { notaryRootKeyRules, plainRootKeyRules, type RootKeyRules } from './root-key-rules.js';
export { MAX_ROOT_VERSIONS_WALKED, verifyFinalRoot, verifyRootUpdate, type RootUpdateOptions } from './root.js';
export {
  TARGETS_SCOPE,
  childScope,
  findDelegatedRole,
  findTargetsOutsidePaths,
  isTargetInScope,
  parentOf,
  resolveRoleScope,
  restrictPaths,
  type RoleMatcher,
  type RoleScope,
} from './delegations.js';
export { DEFAULT_WALK_LIMITS, listTargets, lookupTarget, type LookupOptions, type TargetMatch, type TargetsSource, type WalkLimits } from './lookup.js';
export { TrustedMetadataSet, type RoleAwareCodec, type TargetsUpdateOptions, type TrustedSetOptions } from './trusted-set.js';
export { delegationOrder, isSkippableDelegationFailure, type DelegationStep } from './walk.js';

// SPDX-License-Identifier: Apache-2.0
// Public surface of shared/policy (used by signet-server and the CLI).

export type { ImageReference, Policy, PolicyDefault, PolicyMode, PolicyResult, PolicyRule, VerifiedRepositoryView } from './types.js';
export { normalizeImageReference, formatImageReference } from './image-reference.js';
export { parsePolicy } from './parse.js';
export { compilePattern, selectRule } from './pattern.js';
export { decide, decideWithoutMetadata, evaluateImage, needsMetadata, planImage, type EvaluateOptions, type ExplainedResult, type ImagePlan } from './evaluate.js';
export { rootRoleKeys, viewFromTrustedSet, type ViewOptions } from './view.js';

// SPDX-License-Identifier: Apache-2.0
// Where the HTTP handlers find the policy checker. HttpDeps (server/http/context.ts)
// has no policy field, so the checker is attached to the app's TrustService
// instance, which every handler already receives.

import type { TrustService } from '../domain/service.js';
import type { PolicyChecker } from './checker.js';
import type { AdmissionOptions } from './admission-options.js';

export interface PolicyBinding {
  readonly checker: PolicyChecker;
  readonly admission: AdmissionOptions;
}

const bindings = new WeakMap<TrustService, PolicyBinding>();

export function attachPolicy(service: TrustService, binding: PolicyBinding): void {
  bindings.set(service, binding);
}

export function policyFor(service: TrustService): PolicyBinding | undefined {
  return bindings.get(service);
}

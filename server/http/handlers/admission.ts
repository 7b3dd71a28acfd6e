// SPDX-License-Identifier: Apache-2.0
// POST /v2/_policy/admission/validate and /v2/_policy/admission/mutate:
// Kubernetes AdmissionReview v1 in, AdmissionReview v1 out (server/policy/admission.ts).
// A malformed review is a 400: the API server then applies the webhook's
// failurePolicy (Fail, in the documented manifests).

import { sendNotaryError } from '../errors.js';
import type { RequestContext } from '../context.js';
import { admit, AdmissionInputError } from '../../policy/admission.js';
import { readJsonBody, requirePolicy, sendBodyError, sendJson } from './policy.js';

async function handle(ctx: RequestContext, mutate: boolean): Promise<void> {
  const binding = requirePolicy(ctx);
  if (binding === undefined) return;
  const body = await readJsonBody(ctx.req);
  if (!body.ok) return sendBodyError(ctx, body);
  try {
    sendJson(ctx, 200, await admit(binding.checker, binding.admission, body.value, mutate));
  } catch (err) {
    if (err instanceof AdmissionInputError) return sendNotaryError(ctx.res, 'INVALID_PARAMETERS', err.message);
    throw err;
  }
}

export const admissionValidateHandler = (ctx: RequestContext): Promise<void> => handle(ctx, false);
export const admissionMutateHandler = (ctx: RequestContext): Promise<void> => handle(ctx, true);

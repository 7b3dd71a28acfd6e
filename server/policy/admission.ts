// SPDX-License-Identifier: Apache-2.0
// Kubernetes AdmissionReview v1 (admission.k8s.io/v1) for Pods and the
// workload kinds: find every container image with its JSON pointer, check
// them all in parallel, and answer. Denials name the image and the missing
// signature; warn-mode findings become `warnings`. The mutating answer pins
// each verified tag to its digest with a JSON patch. An UPDATE checks only the
// images its oldObject did not already hold: a running workload whose signer
// was since revoked can still be scaled or relabelled, while any image the
// update brings in is checked. Pods a controller creates are CREATEs, checked in full.

import type { ExplainedResult } from '../../shared/policy/evaluate.js';
import type { AdmissionOptions } from './admission-options.js';
import type { PolicyChecker } from './checker.js';
import type { PolicySource } from './metrics.js';

/** Where the pod spec sits in each kind, as JSON pointer segments. */
const POD_SPEC_PATH: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
const MAX_MESSAGE = 4000;
const MAX_WARNING = 256;

export interface ContainerImage {
  readonly container: string;
  readonly image: string;
  /** RFC 6901 pointer to the `image` field. */
  readonly pointer: string;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string };
  readonly warnings?: readonly string[];
  readonly patchType?: 'JSONPatch';
  readonly patch?: string;
}

export interface AdmissionReviewOut {
  readonly apiVersion: 'admission.k8s.io/v1';
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

export class AdmissionInputError extends Error {}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface Request {
  uid: string;
  kind: string;
  namespace: string;
  operation: string;
  object: unknown;
  oldObject: unknown;
}

function parseReview(review: unknown): Request {
  if (!isObject(review) || review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') {
    throw new AdmissionInputError('expected an AdmissionReview of apiVersion admission.k8s.io/v1; set admissionReviewVersions: ["v1"] in the webhook configuration');
  }
  const req = review.request;
  if (!isObject(req) || typeof req.uid !== 'string' || req.uid === '') throw new AdmissionInputError('the AdmissionReview has no request.uid');
  const kind = isObject(req.kind) && typeof req.kind.kind === 'string' ? req.kind.kind : '';
  return { uid: req.uid, kind, namespace: typeof req.namespace === 'string' ? req.namespace : '', operation: typeof req.operation === 'string' ? req.operation : '', object: req.object, oldObject: req.oldObject };
}

/** The kind's pod spec path; own keys only, so `constructor` or `toString` is just an unknown kind. */
function podSpecPath(kind: string): readonly string[] | undefined {
  return Object.hasOwn(POD_SPEC_PATH, kind) ? POD_SPEC_PATH[kind] : undefined;
}

const escapePointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Every container image of a Pod or workload object, with its pointer.
 * @throws {AdmissionInputError} when the object does not have the kind's shape.
 */
export function containerImages(kind: string, object: unknown): ContainerImage[] {
  const path = podSpecPath(kind);
  if (path === undefined) return [];
  let spec: unknown = object;
  for (const seg of path) spec = isObject(spec) ? spec[seg] : undefined;
  if (!isObject(spec)) throw new AdmissionInputError(`the ${kind} has no pod spec at .${path.join('.')}`);
  const out: ContainerImage[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (containers === undefined) continue;
    if (!Array.isArray(containers)) throw new AdmissionInputError(`.${path.join('.')}.${list} of the ${kind} is not a list`);
    containers.forEach((c: unknown, i) => {
      if (!isObject(c) || typeof c.image !== 'string') throw new AdmissionInputError(`${list}[${i}] of the ${kind} has no image`);
      out.push({ container: typeof c.name === 'string' ? c.name : `${list}[${i}]`, image: c.image, pointer: `/${[...path, list, String(i), 'image'].map(escapePointer).join('/')}` });
    });
  }
  return out;
}

/**
 * The image references an UPDATE's oldObject already held, compared as written (`app:1.4` is not
 * `app:1.4@sha256:…`). An oldObject missing or not of the kind's shape holds none, so every
 * image is checked (fail closed).
 */
function imagesBefore(req: Request): ReadonlySet<string> {
  if (req.operation !== 'UPDATE') return new Set();
  try {
    return new Set(containerImages(req.kind, req.oldObject).map((c) => c.image));
  } catch (err) {
    if (err instanceof AdmissionInputError) return new Set();
    throw err;
  }
}

function review(response: AdmissionResponse): AdmissionReviewOut {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

/**
 * Answer one AdmissionReview. `mutate` adds the digest-pinning patch and never
 * denies on its own (the validating webhook does); both fail closed on errors.
 * @throws {AdmissionInputError} for a malformed review (the HTTP layer answers 400).
 */
export async function admit(checker: PolicyChecker, options: AdmissionOptions, body: unknown, mutate: boolean): Promise<AdmissionReviewOut> {
  const req = parseReview(body);
  if (options.exemptNamespaces.includes(req.namespace)) return review({ uid: req.uid, allowed: true });
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return review({ uid: req.uid, allowed: true });
  if (podSpecPath(req.kind) === undefined) {
    return review({ uid: req.uid, allowed: true, warnings: [clip(`signet does not check ${req.kind || 'this kind'}; restrict the webhook's rules to Pods and workload kinds`, MAX_WARNING)] });
  }
  const before = imagesBefore(req);
  const containers = containerImages(req.kind, req.object).filter((c) => !before.has(c.image));
  const source: PolicySource = mutate ? 'mutation' : 'admission';
  const results: ExplainedResult[] = await checker.check(containers.map((c) => c.image), { source });
  const denied: string[] = [];
  const warnings: string[] = [];
  const patch: { op: 'replace'; path: string; value: string }[] = [];
  results.forEach((r, i) => {
    const c = containers[i]!;
    if (!r.allowed) denied.push(`image ${r.image} (container ${c.container}) is not allowed: ${r.reasons.join('; ')}`);
    else if (r.reasons.length > 0) warnings.push(clip(`image ${r.image} (container ${c.container}) would be denied (warn mode): ${r.reasons.join('; ')}`, MAX_WARNING));
    else if (mutate && r.digest !== null && !r.image.includes('@')) patch.push({ op: 'replace', path: c.pointer, value: `${r.image}@${r.digest}` });
  });
  if (denied.length > 0 && !mutate) {
    return review({ uid: req.uid, allowed: false, status: { code: 403, message: clip(`signet policy: ${denied.join(' | ')}`, MAX_MESSAGE) }, ...(warnings.length > 0 ? { warnings } : {}) });
  }
  const response: AdmissionResponse = { uid: req.uid, allowed: true, ...(warnings.length > 0 ? { warnings } : {}) };
  if (patch.length === 0) return review(response);
  return review({ ...response, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch), 'utf8').toString('base64') });
}

// SPDX-License-Identifier: Apache-2.0
// The AdmissionReview v1 response schema (k8s.io/api/admission/v1 types.go:
// AdmissionReview{apiVersion, kind, response}, AdmissionResponse{uid, allowed,
// result (metav1.Status, JSON "status"), patch (bytes: base64), patchType
// ("JSONPatch"), auditAnnotations, warnings}) and an RFC 6902 applier for the
// operations the mutating webhook emits.
import assert from 'node:assert/strict';

const RESPONSE_FIELDS = new Set(['uid', 'allowed', 'status', 'patch', 'patchType', 'auditAnnotations', 'warnings']);
const STATUS_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'status', 'message', 'reason', 'details', 'code']);

export function assertAdmissionReviewV1(body: unknown, uid: string): void {
  const b = body as Record<string, unknown>;
  assert.deepEqual(Object.keys(b).sort(), ['apiVersion', 'kind', 'response']);
  assert.equal(b.apiVersion, 'admission.k8s.io/v1');
  assert.equal(b.kind, 'AdmissionReview');
  const r = b.response as Record<string, unknown>;
  for (const k of Object.keys(r)) assert.ok(RESPONSE_FIELDS.has(k), `unknown AdmissionResponse field ${k}`);
  assert.equal(r.uid, uid, 'response.uid must echo request.uid');
  assert.equal(typeof r.allowed, 'boolean');
  if (r.status !== undefined) {
    const s = r.status as Record<string, unknown>;
    for (const k of Object.keys(s)) assert.ok(STATUS_FIELDS.has(k), `unknown Status field ${k}`);
    assert.ok(Number.isInteger(s.code));
    assert.equal(typeof s.message, 'string');
  }
  if (r.warnings !== undefined) assert.ok(Array.isArray(r.warnings) && r.warnings.every((w) => typeof w === 'string'));
  assert.equal(r.patch === undefined, r.patchType === undefined, 'patch and patchType go together');
  if (r.patch !== undefined) {
    assert.equal(r.patchType, 'JSONPatch');
    assert.match(String(r.patch), /^[A-Za-z0-9+/]+=*$/);
    assert.equal(r.allowed, true, 'a patch only comes with an allowed response');
  }
}

type Op = { op: string; path: string; value?: unknown };

/** RFC 6902 `replace` and `test` (the target must exist), on a deep copy. */
export function applyJsonPatch(doc: unknown, ops: readonly Op[]): unknown {
  const out = structuredClone(doc) as Record<string, unknown>;
  for (const op of ops) {
    const segs = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segs.pop();
    assert.ok(last !== undefined && op.path.startsWith('/'), `bad pointer ${op.path}`);
    let node: unknown = out;
    for (const s of segs) {
      assert.ok(typeof node === 'object' && node !== null && s in node, `${op.path}: ${s} does not exist`);
      node = (node as Record<string, unknown>)[s];
    }
    const parent = node as Record<string, unknown>;
    assert.ok(typeof parent === 'object' && parent !== null && last in parent, `${op.path}: target does not exist`);
    if (op.op === 'replace') parent[last] = op.value;
    else if (op.op === 'test') assert.deepEqual(parent[last], op.value);
    else assert.fail(`unexpected op ${op.op}`);
  }
  return out;
}

// SPDX-License-Identifier: Apache-2.0
// Policy evaluation over verified metadata. Pure: the caller verified the
// TUF chain (server/policy, or the CLI's client) and hands in a view; a
// caller that could not verify hands in the failure instead, which denies.
//
// A rule is met when at least `threshold` of its roles signed one and the same
// sha256 digest for the requested tag (or, for a digest-only reference, any
// target with that digest). Roles that signed a different digest are named,
// so "qa signed A but jenkins signed B" is visible in the answer.

import { X509Certificate } from 'node:crypto';
import { canonicalKeyId } from '../codec/notary-keys.js';
import { TrustError } from '../errors.js';
import type { RoleName, TargetFile } from '../tuf/model.js';
import { formatImageReference, normalizeImageReference } from './image-reference.js';
import { selectRule } from './pattern.js';
import type { ImageReference, Policy, PolicyMode, PolicyResult, PolicyRule, VerifiedRepositoryView } from './types.js';

/** An image reference resolved against the policy, before any metadata is read. */
export interface ImagePlan {
  readonly image: string;
  /** Undefined when the reference is malformed (`problem` says why). */
  readonly ref: ImageReference | undefined;
  readonly problem: string | null;
  /** The most specific matching rule; undefined = the policy's default applies. */
  readonly rule: PolicyRule | undefined;
}

export interface EvaluateOptions {
  /** Reference time for the maximum metadata age. */
  readonly now: Date;
  /** Add an `explanation` (which rule, why) to the result. */
  readonly explain?: boolean;
}

export type ExplainedResult = PolicyResult & { readonly explanation?: readonly string[] };

export function planImage(policy: Policy, image: string): ImagePlan {
  try {
    const ref = normalizeImageReference(image);
    return { image, ref, problem: null, rule: selectRule(policy.rules, ref.gun) };
  } catch (err) {
    if (!(err instanceof TrustError)) throw err;
    return { image, ref: undefined, problem: err.message, rule: undefined };
  }
}

/** Whether deciding `plan` needs the repository's verified metadata. */
export function needsMetadata(plan: ImagePlan): boolean {
  return plan.ref !== undefined && plan.rule !== undefined;
}

function ruleLabel(rule: PolicyRule): string {
  return `rule ${rule.pattern} (line ${rule.line})`;
}

function result(plan: ImagePlan, fields: Omit<PolicyResult, 'image'>, explanation: string[] | undefined): ExplainedResult {
  const out: PolicyResult = { image: plan.image, ...fields };
  return explanation === undefined ? out : { ...out, explanation };
}

/** The verdict for a plan without metadata: malformed references, the default, or a repository that could not be verified. */
export function decideWithoutMetadata(policy: Policy, plan: ImagePlan, failure: { reason: string; internal: boolean } | null, options: EvaluateOptions): ExplainedResult {
  const why: string[] | undefined = options.explain === true ? [] : undefined;
  if (plan.ref === undefined) {
    why?.push('the reference cannot be parsed, so no rule can apply');
    return result(plan, { allowed: false, digest: null, signedBy: [], rule: null, reasons: [plan.problem ?? 'malformed image reference'], mode: 'enforce' }, why);
  }
  const rule = plan.rule;
  if (rule === undefined) {
    const allowed = policy.default === 'allow' || policy.defaultMode === 'warn';
    why?.push(`no rule matches ${plan.ref.gun}; the policy default is ${policy.default}${policy.defaultMode === 'warn' ? ' in warn mode' : ''}`);
    const reasons = policy.default === 'deny' ? [`no policy rule matches ${plan.ref.gun} and the default is deny; add a rule for it`] : [];
    return result(plan, { allowed, digest: null, signedBy: [], rule: null, reasons, mode: policy.defaultMode }, why);
  }
  const reason = failure?.reason ?? `no verified trust data for ${plan.ref.gun}`;
  // An internal error or timeout never allows, whatever the mode (fail closed).
  const allowed = failure?.internal !== true && rule.mode === 'warn';
  why?.push(`${ruleLabel(rule)} matches ${plan.ref.gun}, but its trust data could not be verified`);
  return result(plan, { allowed, digest: null, signedBy: [], rule: rule.pattern, reasons: [reason], mode: rule.mode }, why);
}

function sha256Of(target: TargetFile): string | null {
  const h = target.hashes.get('sha256');
  return h === undefined ? null : `sha256:${h.toString('hex')}`;
}

// A rule's pinned CAs, parsed once per loaded policy rather than on every decision.
const PINNED = new WeakMap<PolicyRule, X509Certificate[]>();
function pinnedCertificates(rule: PolicyRule): X509Certificate[] {
  let cas = PINNED.get(rule);
  if (cas === undefined) PINNED.set(rule, (cas = rule.pinnedCAs.map((pem) => new X509Certificate(pem))));
  return cas;
}

function pinProblems(rule: PolicyRule, view: VerifiedRepositoryView): string[] {
  const problems: string[] = [];
  // Either ID of a root key: the certificate's (root.json keyids, trust_pinning.certs) or the
  // canonical one of its public key (what `init` and `key list` print).
  if (rule.pinnedRootKeys.length > 0 && !view.anchorRootKeys.some((k) => rule.pinnedRootKeys.includes(k.id) || rule.pinnedRootKeys.includes(canonicalKeyId(k)))) {
    problems.push(`the root of ${view.gun} is not signed by any key pinned in ${ruleLabel(rule)}; pin a root key ID as \`signet key list\` prints it or as root.json lists it`);
  }
  if (rule.pinnedCAs.length > 0) {
    const cas = pinnedCertificates(rule);
    const issued = view.anchorRootKeys.some((k) => {
      const leaf = k.certificates[0];
      return leaf !== undefined && cas.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
    });
    if (!issued) problems.push(`no root certificate of ${view.gun} is issued by a CA pinned in ${ruleLabel(rule)}`);
  }
  return problems;
}

function ageProblem(rule: PolicyRule, view: VerifiedRepositoryView, now: Date): string | null {
  if (rule.maxMetadataAgeSeconds === undefined) return null;
  if (view.timestampSignedAt === undefined) return `the age of ${view.gun}'s timestamp is unknown, and ${ruleLabel(rule)} limits it to ${rule.maxMetadataAgeSeconds} s`;
  const age = (now.getTime() - view.timestampSignedAt.getTime()) / 1000;
  return age > rule.maxMetadataAgeSeconds ? `${view.gun}'s timestamp is ${Math.round(age)} s old, older than the ${rule.maxMetadataAgeSeconds} s ${ruleLabel(rule)} allows` : null;
}

/** The digest each role signed for the reference (null: the role did not sign it). */
function signedDigests(rule: PolicyRule, ref: ImageReference, view: VerifiedRepositoryView): Map<RoleName, string | null> {
  const out = new Map<RoleName, string | null>();
  for (const role of rule.roles) {
    if (ref.tag !== undefined) {
      const target = view.targetInRole(role, ref.tag);
      out.set(role, target === undefined ? null : sha256Of(target));
    } else {
      const wanted = ref.digest;
      const found = [...view.targetsOfRole(role).values()].some((t) => sha256Of(t) === wanted);
      out.set(role, found && wanted !== undefined ? wanted : null);
    }
  }
  return out;
}

/**
 * Decide `plan` against verified metadata. Warn-mode rules allow but keep the
 * reasons the image would have been refused for.
 */
export function decide(policy: Policy, plan: ImagePlan, view: VerifiedRepositoryView, options: EvaluateOptions): ExplainedResult {
  const { ref, rule } = plan;
  if (ref === undefined || rule === undefined) return decideWithoutMetadata(policy, plan, null, options);
  const why: string[] | undefined = options.explain === true ? [`${ruleLabel(rule)} is the most specific rule matching ${ref.gun}`] : undefined;
  const reasons = pinProblems(rule, view);
  const age = ageProblem(rule, view, options.now);
  if (age !== null) reasons.push(age);

  const byRole = signedDigests(rule, ref, view);
  const support = new Map<string, RoleName[]>();
  for (const [role, digest] of byRole) if (digest !== null) support.set(digest, [...(support.get(digest) ?? []), role]);
  const ranked = [...support.entries()].sort((a, b) => b[1].length - a[1].length);
  const [best, second] = ranked;
  const unique = best !== undefined && (second === undefined || second[1].length < best[1].length);
  const wantedDigest = ref.digest;
  const name = formatImageReference(ref);
  const digest = unique ? best[0] : null;
  const signedBy = unique ? best[1] : [];
  const agreeing = digest !== null && (wantedDigest === undefined || digest === wantedDigest) ? signedBy.length : 0;
  if (agreeing < rule.threshold) {
    // A dissenting role only explains a failure: when a quorum signed the requested digest, `tag@digest`
    // is allowed exactly as the tag alone is (the mutating webhook's pin must pass the validating one).
    if (wantedDigest !== undefined && ref.tag !== undefined) {
      for (const [role, d] of byRole) if (d !== null && d !== wantedDigest) reasons.push(`${role} signed ${ref.tag} as ${d}, not the requested ${wantedDigest}`);
    }
    const missing = [...byRole].filter(([, d]) => d === null).map(([role]) => role);
    if (missing.length > 0) reasons.push(`${name} lacks the signature of ${missing.join(', ')} (${ruleLabel(rule)} needs ${rule.threshold} of ${rule.roles.join(', ')})`);
    if (ranked.length > 1) {
      reasons.push(`roles signed different digests for ${name}: ${ranked.map(([d, roles]) => `${roles.join(', ')} signed ${d}`).join('; ')}`);
    }
    if (missing.length === 0 && ranked.length <= 1) reasons.push(`${name} has ${agreeing} of the ${rule.threshold} signatures ${ruleLabel(rule)} needs`);
  }
  why?.push(`${agreeing} of ${rule.roles.length} roles (${rule.roles.join(', ')}) signed ${digest ?? 'one digest'}; ${rule.threshold} required`);
  const ok = reasons.length === 0;
  if (why !== undefined) why.push(ok ? 'allowed' : rule.mode === 'warn' ? 'would be denied; allowed because the rule is in warn mode' : 'denied');
  return result(plan, { allowed: ok || rule.mode === 'warn', digest: ok || agreeing > 0 ? digest : null, signedBy: agreeing > 0 ? signedBy : [], rule: rule.pattern, reasons, mode: rule.mode }, why);
}

/** Convenience for one image with its view (the CLI's path): plan, then decide. */
export function evaluateImage(policy: Policy, image: string, view: VerifiedRepositoryView | undefined, options: EvaluateOptions): ExplainedResult {
  const plan = planImage(policy, image);
  if (!needsMetadata(plan) || view === undefined) return decideWithoutMetadata(policy, plan, null, options);
  return decide(policy, plan, view, options);
}

export type { PolicyMode };

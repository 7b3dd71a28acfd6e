// SPDX-License-Identifier: Apache-2.0
// The deploy policy model shared by signet-server (check API, admission
// webhooks) and the CLI (`signet policy check`). Pure data: parse.ts builds
// it from a file, evaluate.ts applies it to verified metadata.

import type { PublicKey, RoleName, TargetFile } from '../tuf/model.js';

export type PolicyMode = 'enforce' | 'warn';
export type PolicyDefault = 'allow' | 'deny';

export interface PolicyRule {
  /**
   * Anchored glob over the normalised repository name (`docker.io/library/alpine`):
   * `*` matches within one path segment, `**` across segments.
   */
  readonly pattern: string;
  /** Delegation roles that must sign the same digest (teams already expanded). */
  readonly roles: readonly RoleName[];
  /** How many of `roles` must agree; `roles.length` when the file gives none. */
  readonly threshold: number;
  readonly mode: PolicyMode;
  /** Root key IDs one of which the repository's anchor root must list for the root role. */
  readonly pinnedRootKeys: readonly string[];
  /** CA certificates (PEM) one of which must have issued a root certificate of the anchor root. */
  readonly pinnedCAs: readonly string[];
  /** Longest time since the timestamp was signed, in seconds; undefined = no limit. */
  readonly maxMetadataAgeSeconds?: number;
  /** Line of the rule in the policy file (for explain answers). */
  readonly line: number;
}

export interface Policy {
  readonly default: PolicyDefault;
  readonly rules: readonly PolicyRule[];
  /** Team name -> role, as declared in the file. */
  readonly teams: ReadonlyMap<string, RoleName>;
  /** Mode of the default verdict (applies to images no rule matches). */
  readonly defaultMode: PolicyMode;
}

/** An image reference normalised as Docker does. */
export interface ImageReference {
  /** Repository name with registry, which is the GUN: `docker.io/library/alpine`. */
  readonly gun: string;
  /** Tag; `latest` when the reference had neither tag nor digest. */
  readonly tag?: string;
  /** `sha256:<64 hex>` when the reference pinned one. */
  readonly digest?: string;
}

/**
 * What evaluation needs from a repository whose metadata was verified
 * (root -> timestamp -> snapshot -> targets -> delegations, expiry included).
 */
export interface VerifiedRepositoryView {
  readonly gun: string;
  /**
   * The target `name` as `role` itself signed it, inside the role's delegated
   * scope; undefined when the role is absent or does not list it.
   */
  targetInRole(role: RoleName, name: string): TargetFile | undefined;
  /** Every target `role` itself signed inside its scope (for digest-only references). */
  targetsOfRole(role: RoleName): ReadonlyMap<string, TargetFile>;
  /** Root-role keys of the root the chain was anchored on (for pinning). */
  readonly anchorRootKeys: readonly PublicKey[];
  /** When the current timestamp was signed or stored; undefined when unknown. */
  readonly timestampSignedAt?: Date;
}

export interface PolicyResult {
  /** The reference exactly as asked. */
  readonly image: string;
  readonly allowed: boolean;
  /** `sha256:<hex>` the verdict is about; null when no signed digest was found. */
  readonly digest: string | null;
  /** Roles that signed `digest`. */
  readonly signedBy: readonly RoleName[];
  /** Pattern of the rule that decided; null for the default. */
  readonly rule: string | null;
  /** Why (denials), or what a warn-mode rule would have refused. Empty when plainly allowed. */
  readonly reasons: readonly string[];
  readonly mode: PolicyMode;
}

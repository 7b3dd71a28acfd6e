// SPDX-License-Identifier: Apache-2.0
// `delegation list`: every delegation of the verified metadata, as notary's
// GetDelegationRoles reports them (key IDs in canonical form, the form
// `key list` prints and `delegation remove`/`purge` take), and its output:
// notary's table, or JSON with stable field names:
//   [{"role": "targets/releases", "paths": ["releases/"], "keyIds": ["1d75…"], "threshold": 1}]
// ("" in paths means every path).

import type { TrustedMetadataSet } from '../shared/verify/index.js';
import { parentOf } from '../shared/verify/index.js';
import { tabulate } from './output.js';
import { canonicalIdsOf } from './working-repo.js';

export interface DelegationInfo {
  readonly role: string;
  readonly paths: readonly string[];
  /** Canonical key IDs, in the role's order. */
  readonly keyIds: readonly string[];
  readonly threshold: number;
}

/** Delegations listed by every loaded targets role, sorted by name (notary's order). */
export function listDelegations(set: TrustedMetadataSet): DelegationInfo[] {
  const out: DelegationInfo[] = [];
  for (const role of set.loadedTargetsRoles) {
    const d = set.getTargets(role)?.signed.delegations;
    for (const r of d?.roles ?? []) {
      if (parentOf(r.name) !== role) continue;
      out.push({ role: r.name, paths: [...(r.paths ?? [])], keyIds: canonicalIdsOf(r, d!.keys), threshold: r.threshold });
    }
  }
  return out.sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0));
}

/** notary prettyPaths: sorted, "" shown as `"" <all paths>`. */
function prettyPaths(paths: readonly string[]): string[] {
  return [...paths].sort().map((p) => (p === '' ? '"" <all paths>' : p));
}

/** notary's `delegation list` output, blank lines included. */
export function formatDelegations(list: readonly DelegationInfo[]): string {
  if (list.length === 0) return '\n\nNo delegations present in this repository.\n\n\n';
  const header = ['ROLE', 'PATHS', 'KEY IDS', 'THRESHOLD'];
  const rows: string[][] = [header, header.map((h) => '-'.repeat(h.length))];
  for (const d of list) {
    const pp = prettyPaths(d.paths);
    rows.push([d.role, pp[0] ?? '', d.keyIds[0] ?? '', String(d.threshold)]);
    for (let i = 1; i < Math.max(pp.length, d.keyIds.length); i++) rows.push(['', pp[i] ?? '', d.keyIds[i] ?? '', '']);
  }
  return `\n${tabulate(rows)}\n`;
}

export function delegationToJson(d: DelegationInfo): Record<string, unknown> {
  return { role: d.role, paths: [...d.paths], keyIds: [...d.keyIds], threshold: d.threshold };
}

// SPDX-License-Identifier: Apache-2.0
// Human output in notary's exact layout (cmd/notary/prettyprint.go): tables
// through Go's text/tabwriter with minwidth 4, padding 4, space padding, a
// dashed rule under the headers; and the JSON forms of `--output json`.

import type { TargetMatch } from '../shared/verify/index.js';
import type { StoredChange } from './changelist.js';

/** Go text/tabwriter (minwidth 4, tabwidth 4, padding 4, ' ', no flags) over rows of cells. */
export function tabulate(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i === row.length - 1) return; // the last cell is not in a column
      widths[i] = Math.max(widths[i] ?? 4, [...cell].length + 4);
    });
  }
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length))).join('') + '\n').join('');
}

function withRule(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return tabulate([header, header.map((h) => '-'.repeat(h.length)), ...rows]);
}

function sha256Hex(t: TargetMatch): string {
  return t.target.hashes.get('sha256')?.toString('hex') ?? '';
}

/** `notary list`: sorted by name; the empty message has notary's blank lines. */
export function formatTargets(targets: readonly TargetMatch[]): string {
  if (targets.length === 0) return '\nNo targets present in this repository.\n\n';
  const sorted = [...targets].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return withRule(['NAME', 'DIGEST', 'SIZE (BYTES)', 'ROLE'], sorted.map((t) => [t.name, sha256Hex(t), String(t.target.length), t.role]));
}

/** `notary lookup`: `<name> sha256:<hex> <length>`. */
export function formatLookup(t: TargetMatch): string {
  return `${t.name} sha256:${sha256Hex(t)} ${t.target.length}\n`;
}

/** `notary status`. */
export function formatStatus(gun: string, changes: readonly StoredChange[]): string {
  if (changes.length === 0) return `No unpublished changes for ${gun}\n`;
  return `Unpublished changes for ${gun}:\n\n` + withRule(['#', 'ACTION', 'SCOPE', 'TYPE', 'PATH'], changes.map((c, i) => [String(i), c.action, c.role, c.type, c.path]));
}

export function targetToJson(t: TargetMatch): Record<string, unknown> {
  return {
    name: t.name,
    role: t.role,
    length: t.target.length,
    hashes: Object.fromEntries([...t.target.hashes].map(([k, v]) => [k, v.toString('hex')])),
    ...(t.target.custom === undefined ? {} : { custom: t.target.custom }),
  };
}

export function changeToJson(c: StoredChange, index: number): Record<string, unknown> {
  return { index, action: c.action, scope: c.role, type: c.type, path: c.path, file: c.file };
}

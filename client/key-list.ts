// SPDX-License-Identifier: Apache-2.0
// `key list` in notary's layout (cmd/notary/prettyprint.go prettyPrintKeys):
// a blank line, then ROLE / GUN / KEY ID / LOCATION through Go's tabwriter
// with a dashed rule, root keys first, then by gun, role, key ID, location;
// GUN and LOCATION left-truncated with "..." to 25 and 40 characters; a
// blank line after. LOCATION is the store, as notary names it: the trust
// directory's private/ folder. IDs are canonical (the file names).
// A key file that cannot be read is left out of the table (notary skips it
// too) and reported on stderr with what is wrong with it.

import type { KeyInfo, KeyStore } from '../keys/index.js';
import { FileKeyStore } from '../keys/index.js';
import { tabulate } from './output.js';

const MAX_GUN_WIDTH = 25;
const MAX_LOCATION_WIDTH = 40;

export interface KeyRow {
  readonly role: string;
  readonly gun: string;
  readonly keyId: string;
  /** The store (notary: store.Name()). */
  readonly location: string;
  /** The key file itself (or the store name for keys without a file). */
  readonly file: string;
  readonly algorithm: KeyInfo['algorithm'];
  readonly problem?: string;
}

function storeLocation(store: KeyStore): string {
  return store instanceof FileKeyStore ? store.privateDir : store.name;
}

/** Every key of every store, a key in several stores once per store (notary lists each). */
export async function keyRows(stores: readonly KeyStore[]): Promise<KeyRow[]> {
  const rows: KeyRow[] = [];
  for (const store of stores) {
    for (const k of await store.list()) {
      rows.push({
        role: k.role,
        gun: k.gun ?? '',
        keyId: k.keyId,
        location: storeLocation(store),
        file: k.location,
        algorithm: k.algorithm,
        ...(k.problem === undefined ? {} : { problem: k.problem }),
      });
    }
  }
  return sortKeyRows(rows);
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Notary's keyInfoSorter: root first, then gun, role, key ID, location (Go string order). */
export function sortKeyRows(rows: readonly KeyRow[]): KeyRow[] {
  return [...rows].sort((a, b) => {
    if (a.role !== b.role) {
      if (a.role === 'root') return -1;
      if (b.role === 'root') return 1;
    }
    for (const [x, y] of [
      [a.gun, b.gun],
      [a.role, b.role],
      [a.keyId, b.keyId],
      [a.location, b.location],
    ] as const) {
      const c = byteOrder(x, y);
      if (c !== 0) return c;
    }
    return 0;
  });
}

/** Go's truncateWithEllipsis(s, max, leftTruncate=true), by bytes as Go slices strings. */
export function truncateLeft(s: string, max: number): string {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= max) return s;
  return `...${bytes.subarray(bytes.length - (max - 3)).toString('utf8')}`;
}

/** The whole `key list` text, blank lines included. */
export function formatKeyList(rows: readonly KeyRow[]): string {
  const usable = rows.filter((r) => r.problem === undefined);
  if (usable.length === 0) return '\nNo signing keys found.\n\n';
  const header = ['ROLE', 'GUN', 'KEY ID', 'LOCATION'];
  const body = usable.map((r) => [r.role, truncateLeft(r.gun, MAX_GUN_WIDTH), r.keyId, truncateLeft(r.location, MAX_LOCATION_WIDTH)]);
  return `\n${tabulate([header, header.map((h) => '-'.repeat(h.length)), ...body])}\n`;
}

/** Lines for stderr about key files that could not be listed. */
export function keyProblems(rows: readonly KeyRow[]): string[] {
  return rows.filter((r) => r.problem !== undefined).map((r) => `warning: skipped ${r.file}: ${r.problem}`);
}

export function keyRowToJson(r: KeyRow): Record<string, unknown> {
  return {
    keyId: r.keyId,
    role: r.role,
    gun: r.gun === '' ? null : r.gun,
    algorithm: r.algorithm,
    location: r.location,
    file: r.file,
    ...(r.problem === undefined ? {} : { problem: r.problem }),
  };
}

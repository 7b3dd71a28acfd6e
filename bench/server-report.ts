// SPDX-License-Identifier: Apache-2.0
// Tables and ratios printed by `npm run bench:server`: one table per case
// (server, storage, req/s, ok/s, p50, p99, server-process CPU ms per request
// and per 2xx, failures), then the signet/notary ratios of the committed rate (ok/s), and
// the two targets of the issue checked against them.

import os from 'node:os';
import type { LoadResult } from './server-load.js';

export interface Row {
  readonly server: string;
  readonly storage: string;
  readonly result: LoadResult;
}

const num = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-');

function failures(r: LoadResult): string {
  // Code 0: wrk counts responses outside 2xx/3xx without their status.
  const parts = [...r.failures].sort(([a], [b]) => a - b).map(([code, n]) => `${n}×${code === 0 ? 'not 2xx/3xx' : code}`);
  if (r.errors > 0) parts.push(`${r.errors} errors`);
  if (r.exhausted) parts.push('pool exhausted: cut short');
  return parts.length === 0 ? '0' : parts.join(', ');
}

export function formatTable(title: string, rows: readonly Row[]): string {
  // CPU of the server process only (PostgreSQL's backends are not counted); per 2xx = per committed publish
  const header = ['server', 'storage', 'req/s', 'ok/s', 'p50 ms', 'p99 ms', 'CPU ms/req', 'CPU ms/ok', 'not 2xx'];
  const body = rows.map((r) => [
    r.server,
    r.storage,
    num(r.result.reqPerSec),
    num(r.result.okPerSec),
    num(r.result.p50Ms, 2),
    num(r.result.p99Ms, 2),
    num(r.result.cpuMsPerReq, 3),
    num(r.result.cpuMsPerOk, 3),
    failures(r.result),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i < 2 || i === 8 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [title, line(header), ...body.map(line)].join('\n');
}

/** ok/s of a over b, or null when either is missing or b is zero. */
export function ratio(a: LoadResult | undefined, b: LoadResult | undefined): number | null {
  if (a === undefined || b === undefined || b.okPerSec === 0) return null;
  return a.okPerSec / b.okPerSec;
}

export const formatRatio = (r: number | null): string => (r === null ? 'n/a' : `${r >= 10 ? num(r, 0) : num(r, 2)}×`);

/** Every signet row against every notary row of the same case. */
export function formatRatios(rows: readonly Row[]): string {
  const signet = rows.filter((r) => r.server === 'signet-server');
  const notary = rows.filter((r) => r.server === 'notary-server');
  if (signet.length === 0 || notary.length === 0) return 'ratios: no notary-server rows';
  const parts: string[] = [];
  for (const s of signet) for (const n of notary) parts.push(`signet ${s.storage} / notary ${n.storage} ${formatRatio(ratio(s.result, n.result))}`);
  return `ratios (ok/s): ${parts.join('; ')}`;
}

export interface Target {
  readonly label: string;
  readonly value: number | null;
  readonly goal: number;
}

export function formatTargets(targets: readonly Target[]): string {
  return targets.map((t) => `${t.value === null ? 'n/a ' : t.value >= t.goal ? 'met ' : 'MISS'}  ${t.label}: ${formatRatio(t.value)} (goal ≥ ${t.goal}×)`).join('\n');
}

/** What else ran: the figures are only comparable within one run on a quiet machine. */
export function machineLine(): string {
  const [l1, l5] = os.loadavg();
  return `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown'}), load average ${num(l1 ?? NaN, 2)} / ${num(l5 ?? NaN, 2)} (1 / 5 min), node ${process.version}`;
}

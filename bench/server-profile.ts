// SPDX-License-Identifier: Apache-2.0
// Summary of a V8 .cpuprofile (what `node --cpu-prof` writes): self time by
// function and by file, highest first. `npm run bench:server -- --profile DIR`
// keeps signet-server's profiles in DIR and prints this for each;
// `node dist/bench/server-profile.js FILE...` prints it for any profile.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const build = /\/(?:dist|\.build\/[^/]+)\//.exec(url);
  if (build !== null) return url.slice(build.index + build[0].length);
  return url.replace(/^file:\/\//, '');
}

/** A span of the monotonic clock in microseconds: V8 profile timestamps and process.hrtime share it (CLOCK_MONOTONIC). */
export interface TimeWindow {
  readonly startUs: number;
  readonly endUs: number;
}

/** Now on the clock profiles use. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/**
 * Self time per function and per file. Time per sample comes from timeDeltas
 * (hit counts when absent); with `window`, only samples inside it count.
 */
export function summarizeProfile(profile: CpuProfile, top = 25, window?: TimeWindow): { total: number; functions: ProfileEntry[]; files: ProfileEntry[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    let t = profile.startTime;
    samples.forEach((id, i) => {
      const d = deltas[i] ?? 0;
      t += d;
      if (window !== undefined && (t < window.startUs || t > window.endUs)) return;
      self.set(id, (self.get(id) ?? 0) + d / 1000);
    });
  } else {
    const perHit = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0));
    for (const n of profile.nodes) self.set(n.id, (n.hitCount ?? 0) * perHit);
  }
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    total += ms;
    const where = shortUrl(url);
    const key = `${functionName || '(anonymous)'} ${where}${url === '' ? '' : ':' + (lineNumber + 1)}`;
    fn.set(key, (fn.get(key) ?? 0) + ms);
    file.set(where, (file.get(where) ?? 0) + ms);
  }
  const rank = (m: Map<string, number>): ProfileEntry[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, share: total === 0 ? 0 : ms / total }));
  return { total, functions: rank(fn), files: rank(file) };
}

export function formatProfile(file: string, options: { top?: number; window?: TimeWindow; label?: string } = {}): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const s = summarizeProfile(profile, options.top ?? 25, options.window);
  const line = (e: ProfileEntry): string => `  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}`;
  const head = `${options.label ?? path.basename(file)}: ${s.total.toFixed(0)} ms busy (idle excluded)`;
  return [head, 'by function (self time):', ...s.functions.map(line), 'by file:', ...s.files.slice(0, 12).map(line)].join('\n');
}

if (process.argv[1] !== undefined && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of process.argv.slice(2)) console.log(formatProfile(f));
}

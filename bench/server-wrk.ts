// SPDX-License-Identifier: Apache-2.0
// GET phases through Debian's `wrk` (one thread) when it is installed: a C
// load generator needs a fraction of autocannon's CPU per request, and on 2
// shared cores that CPU is taken from the server under test. Publishes stay
// on autocannon (each request carries a different pre-signed body).

import { spawn, spawnSync } from 'node:child_process';
import { monotonicUs } from './server-profile.js';
import { cpuSeconds, type ServerProcess } from './server-procs.js';
import type { LoadOptions, LoadResult } from './server-load.js';

export function wrkAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status === 0;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function duration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  return m === null ? NaN : Number(m[1]) * (UNIT_MS[m[2]!] ?? NaN);
}

export interface WrkSummary {
  readonly requests: number;
  readonly seconds: number;
  readonly non2xx: number;
  readonly socketErrors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** The figures of `wrk --latency` output. @throws when the output lacks the request count. */
export function parseWrk(output: string): WrkSummary {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(output);
  if (total === null) throw new Error(`unexpected wrk output:\n${output.slice(0, 500)}`);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+(?:us|ms|s|m))\\s*$`, 'm').exec(output);
    return m === null ? NaN : duration(m[1]!);
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: Number(total[1]),
    seconds: duration(total[2]! + total[3]!) / 1000,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    socketErrors: errors === null ? 0 : errors.slice(1).reduce((a, n) => a + Number(n), 0),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
  };
}

function runWrk(url: string, connections: number, seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${Math.max(1, Math.round(seconds))}s`, '--latency', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}:\n${out.slice(0, 500)}`))));
  });
}

/** GET `path` with wrk; the same figures as loadGet (server CPU from /proc around the run). */
export async function loadGetWrk(server: ServerProcess, path: string, options: LoadOptions): Promise<LoadResult> {
  const url = server.url + path;
  if (options.warmupSec > 0) await runWrk(url, options.connections, options.warmupSec);
  const cpu0 = cpuSeconds(server.pid);
  const startUs = monotonicUs();
  const s = parseWrk(await runWrk(url, options.connections, options.durationSec));
  const cpu = cpuSeconds(server.pid) - cpu0;
  const ok = s.requests - s.non2xx;
  return {
    requests: s.requests,
    ok,
    failures: s.non2xx > 0 ? new Map([[0, s.non2xx]]) : new Map(),
    errors: s.socketErrors,
    seconds: s.seconds,
    reqPerSec: s.requests / s.seconds,
    okPerSec: ok / s.seconds,
    p50Ms: s.p50Ms,
    p99Ms: s.p99Ms,
    cpuMsPerReq: s.requests === 0 ? NaN : (cpu * 1000) / s.requests,
    cpuMsPerOk: ok === 0 ? NaN : (cpu * 1000) / ok,
    exhausted: false,
    window: { startUs, endUs: monotonicUs() },
  };
}

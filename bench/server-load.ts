// SPDX-License-Identifier: Apache-2.0
// Load phases of `npm run bench:server`, driven by autocannon in this process
// (the servers are child processes). Latencies are taken from autocannon's
// per-response event at sub-millisecond resolution (its own histogram keeps
// whole milliseconds). Server CPU is /proc utime+stime of the server process,
// read right before and after the timed phase.
//
// Publishes replay pre-signed bodies: each request takes the next version of
// the next GUN in turn, so with 32 connections several publishes of one GUN
// race, as concurrent clients would. A lost race is notary's `400 VERSION`
// (both servers validate without a lock and let the store refuse the loser);
// it counts as a request but not as a publish.

import autocannon from 'autocannon';
import { monotonicUs, type TimeWindow } from './server-profile.js';
import { cpuSeconds, type ServerProcess } from './server-procs.js';
import { tufPath, type PublishBody } from './server-repo.js';

export interface LoadOptions {
  readonly connections: number;
  readonly durationSec: number;
  /** Untimed run first (JIT, caches, connection pools); 0 for none. */
  readonly warmupSec: number;
}

export interface LoadResult {
  /** Responses received. */
  readonly requests: number;
  /** 2xx responses (for publishes: committed publishes). */
  readonly ok: number;
  /** Status code -> count, for everything that was not 2xx. */
  readonly failures: ReadonlyMap<number, number>;
  /** Socket errors and timeouts. */
  readonly errors: number;
  readonly seconds: number;
  readonly reqPerSec: number;
  readonly okPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Server CPU (user + system) per response. */
  readonly cpuMsPerReq: number;
  /** The pre-signed publishes ran out before the duration ended (the run was cut short). */
  readonly exhausted: boolean;
  /** When the timed phase ran, on the clock of CPU profiles. */
  readonly window: TimeWindow;
}

class Latencies {
  #values = new Float64Array(1 << 16);
  #n = 0;

  add(ms: number): void {
    if (this.#n === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#n++] = ms;
  }

  /** Nearest-rank percentile, q in (0, 1]. */
  percentile(q: number): number {
    if (this.#n === 0) return NaN;
    const sorted = this.#values.slice(0, this.#n).sort();
    return sorted[Math.min(this.#n - 1, Math.ceil(q * this.#n) - 1)] ?? NaN;
  }
}

async function run(server: ServerProcess, options: autocannon.Options, durationSec: number, onStart?: (instance: autocannon.Instance) => void): Promise<LoadResult & { instance: autocannon.Instance }> {
  const latencies = new Latencies();
  const failures = new Map<number, number>();
  let requests = 0;
  let ok = 0;
  let errors = 0;
  const cpu0 = cpuSeconds(server.pid);
  const startUs = monotonicUs();
  const t0 = performance.now();
  let instance!: autocannon.Instance;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon({ ...options, duration: durationSec }, (err: unknown, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result)));
  });
  onStart?.(instance);
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    requests++;
    if (statusCode >= 200 && statusCode < 300) ok++;
    else failures.set(statusCode, (failures.get(statusCode) ?? 0) + 1);
    latencies.add(responseTime);
  });
  instance.on('reqError', () => errors++);
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(server.pid) - cpu0;
  const window = { startUs, endUs: monotonicUs() };
  return {
    instance,
    requests,
    ok,
    failures,
    errors,
    seconds,
    reqPerSec: requests / seconds,
    okPerSec: ok / seconds,
    p50Ms: latencies.percentile(0.5),
    p99Ms: latencies.percentile(0.99),
    cpuMsPerReq: requests === 0 ? NaN : (cpu * 1000) / requests,
    exhausted: false,
    window,
  };
}

function strip<T extends { instance: unknown }>(r: T): Omit<T, 'instance'> {
  const { instance: _instance, ...rest } = r;
  return rest;
}

/** GET `path` from `connections` keep-alive connections for `durationSec`. */
export async function loadGet(server: ServerProcess, path: string, options: LoadOptions): Promise<LoadResult> {
  const base: autocannon.Options = { url: server.url + path, connections: options.connections, pipelining: 1, timeout: 30 };
  if (options.warmupSec > 0) await run(server, base, options.warmupSec);
  return strip(await run(server, base, options.durationSec));
}

/**
 * POST publishes, GUNs in turn, each request the GUN's next pre-signed version.
 * Stops early (and says so) when a GUN's sequence runs out.
 */
export async function loadPublish(server: ServerProcess, sequences: ReadonlyMap<string, readonly PublishBody[]>, options: LoadOptions): Promise<LoadResult> {
  const guns = [...sequences.keys()];
  const cursors = new Map(guns.map((g) => [g, 0]));
  let turn = 0;
  let exhausted = false;
  let instance: autocannon.Instance | undefined;
  const first = guns[0];
  if (first === undefined) throw new Error('no publish sequences');
  const setupRequest = (req: autocannon.Request): autocannon.Request => {
    const gun = guns[turn++ % guns.length]!;
    const seq = sequences.get(gun)!;
    const i = cursors.get(gun)!;
    if (i >= seq.length && !exhausted) {
      exhausted = true;
      instance?.stop();
    }
    const publish = seq[Math.min(i, seq.length - 1)]!;
    cursors.set(gun, i + 1);
    return { ...req, method: 'POST', path: tufPath(gun, ''), headers: { 'Content-Type': publish.contentType }, body: publish.body };
  };
  const result = await run(
    server,
    { url: server.url, connections: options.connections, pipelining: 1, timeout: 30, requests: [{ method: 'POST', path: tufPath(first, ''), setupRequest }] },
    options.durationSec,
    (i) => (instance = i),
  );
  return { ...strip(result), exhausted };
}

// SPDX-License-Identifier: Apache-2.0
// Load phases of `npm run bench:server`, driven by autocannon in this process
// (the servers are child processes). Latencies are taken from autocannon's
// per-response event at sub-millisecond resolution (its own histogram keeps
// whole milliseconds). Server CPU is /proc utime+stime of the server process,
// read right before and after the timed phase.
//
// Publishes replay pre-signed bodies, in one of two modes:
//   - `turns` (the "one GUN" and "8 GUNs" cases): each request takes the
//     next version of the next GUN in turn, so with 32 connections about 32
//     consecutive future versions of one GUN are in flight at once. signet-server
//     applies one GUN's publishes one at a time in arrival order, so nearly all
//     commit; notary-server validates them concurrently and most lose with `400`.
//     Real clients cannot produce this (each signs current+1 after reading), so
//     these cases reward signet's queue more than they measure throughput;
//   - `per-connection` (the realistic case): each connection owns one GUN and
//     publishes its next version only after the previous answer, so no publish
//     ever races: committed publishes per second of many independent publishers.
// A response outside 2xx counts as a request but not as a publish. Server CPU is
// the server process only: PostgreSQL's backends are other processes and are not
// counted (PGlite, the embedded store, runs inside signet-server and is).

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
  /** Server CPU per 2xx response (for publishes: per committed publish). */
  readonly cpuMsPerOk: number;
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
    cpuMsPerOk: ok === 0 ? NaN : (cpu * 1000) / ok,
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
 * POST publishes, each request a GUN's next pre-signed version: GUNs in turn (`turns`), or one GUN
 * per connection (`per-connection`, which needs as many GUNs as connections).
 * Stops early (and says so) when a GUN's sequence runs out.
 */
export async function loadPublish(server: ServerProcess, sequences: ReadonlyMap<string, readonly PublishBody[]>, options: LoadOptions, mode: 'turns' | 'per-connection' = 'turns'): Promise<LoadResult> {
  const guns = [...sequences.keys()];
  if (mode === 'per-connection' && guns.length !== options.connections) throw new Error(`per-connection publishes need one GUN per connection (${guns.length} GUNs, ${options.connections} connections)`);
  const cursors = new Map(guns.map((g) => [g, 0]));
  let turn = 0;
  let exhausted = false;
  let instance: autocannon.Instance | undefined;
  const first = guns[0];
  if (first === undefined) throw new Error('no publish sequences');
  const nextGun = (): string => guns[turn++ % guns.length]!;
  const build = (gun: string, req: autocannon.Request): autocannon.Request => {
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
  // autocannon hands setupRequest a fresh context object for every request when
  // there is one request in the list, so a connection cannot be recognised from
  // it: a GUN is bound to its connection once, in setupClient. (Keying by context
  // made per-connection behave like turns, and a GUN's next version could race
  // its previous one on another connection: the stray 400s of earlier runs.)
  const common = { url: server.url, connections: options.connections, pipelining: 1, timeout: 30 };
  const loadOptions: autocannon.Options =
    mode === 'turns'
      ? { ...common, requests: [{ method: 'POST', path: tufPath(first, ''), setupRequest: (req) => build(nextGun(), req) }] }
      : {
          ...common,
          // Placeholder, replaced per client before its first request is sent.
          requests: [{ method: 'GET', path: '/_notary_server/health' }],
          setupClient: (client) => {
            const gun = nextGun();
            client.setRequests([{ method: 'POST', path: tufPath(gun, ''), setupRequest: (req) => build(gun, req) }]);
          },
        };
  const result = await run(server, loadOptions, options.durationSec, (i) => (instance = i));
  return { ...strip(result), exhausted };
}

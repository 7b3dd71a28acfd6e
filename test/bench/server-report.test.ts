// SPDX-License-Identifier: Apache-2.0
// The arithmetic of `npm run bench:server`: CPU time from /proc, profile
// windows, ratios and the target verdicts. A wrong field index or a window
// that lets setup time in would silently give wrong figures.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuSeconds, parseStatTicks } from '../../bench/server-procs.js';
import { monotonicUs, summarizeProfile } from '../../bench/server-profile.js';
import { formatTable, formatTargets, ratio } from '../../bench/server-report.js';
import type { LoadResult } from '../../bench/server-load.js';
import { parseWrk } from '../../bench/server-wrk.js';

function result(okPerSec: number, extra: Partial<LoadResult> = {}): LoadResult {
  return {
    requests: okPerSec,
    ok: okPerSec,
    failures: new Map(),
    errors: 0,
    seconds: 1,
    reqPerSec: okPerSec,
    okPerSec,
    p50Ms: 1.5,
    p99Ms: 9.25,
    cpuMsPerReq: 0.125,
    cpuMsPerOk: 0.125,
    exhausted: false,
    window: { startUs: 0, endUs: 1 },
    ...extra,
  };
}

describe('parseStatTicks', () => {
  test('adds utime and stime (fields 14 and 15) after a command name holding spaces and parentheses', () => {
    const rest = ['S', '1', '2', '3', '0', '-1', '4194560', '100', '0', '0', '0', '1234', '567', '8', '9'].join(' ');
    assert.equal(parseStatTicks(`4242 (node (x) y) ${rest} 20 0 1`), 1234 + 567);
  });

  test('refuses a line without a command name', () => {
    assert.throws(() => parseStatTicks('garbage'), /stat/);
  });

  test('cpuSeconds of this process grows with work done', () => {
    const before = cpuSeconds(process.pid);
    const until = Date.now() + 120;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    assert.ok(x > 0);
    assert.ok(cpuSeconds(process.pid) - before >= 0.05, 'CPU time did not advance');
  });
});

describe('summarizeProfile', () => {
  // 1 ms samples ending at t = 2000, 3000, … 7000 µs: two in `setup`, three in `hot`, one idle.
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: 'setup', url: 'file:///x/.build/h/bench/a.js', lineNumber: 9 } },
      { id: 3, callFrame: { functionName: 'hot', url: 'file:///x/node_modules/pino/lib/tools.js', lineNumber: 0 } },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    ],
    startTime: 1000,
    endTime: 5000,
    samples: [2, 2, 3, 3, 3, 4],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000],
  };

  test('counts self time per function and per file, idle excluded', () => {
    const s = summarizeProfile(profile);
    assert.equal(s.total, 5);
    assert.deepEqual(
      s.functions.map((f) => [f.name, f.ms]),
      [
        ['hot pino/lib/tools.js:1', 3],
        ['setup bench/a.js:10', 2],
      ],
    );
    assert.equal(s.files[0]?.name, 'pino/lib/tools.js');
  });

  test('with a window, only samples inside it count', () => {
    const s = summarizeProfile(profile, 10, { startUs: 3500, endUs: 6000 });
    assert.deepEqual(
      s.functions.map((f) => [f.name, f.ms]),
      [['hot pino/lib/tools.js:1', 3]],
    );
  });

  test('monotonicUs runs on the clock of V8 profiles (process.hrtime)', () => {
    const a = monotonicUs();
    const b = Number(process.hrtime.bigint() / 1000n);
    assert.ok(b - a >= 0 && b - a < 1_000_000);
  });
});

describe('ratios and targets', () => {
  test('ratio is a over b in committed requests per second, null without a base', () => {
    assert.equal(ratio(result(3000), result(1000)), 3);
    assert.equal(ratio(result(3000), result(0)), null);
    assert.equal(ratio(undefined, result(1)), null);
  });

  test('a target is met at the goal and missed below it', () => {
    const text = formatTargets([
      { label: 'a', value: 3, goal: 3 },
      { label: 'b', value: 2.99, goal: 3 },
      { label: 'c', value: null, goal: 10 },
    ]).split('\n');
    assert.match(text[0]!, /^met /);
    assert.match(text[1]!, /^MISS/);
    assert.match(text[2]!, /^n\/a/);
  });

  test('the table shows failures by status and a cut-short run', () => {
    const table = formatTable('t', [{ server: 'notary-server', storage: 'memory', result: result(10, { failures: new Map([[400, 7]]), exhausted: true }) }]);
    assert.match(table, /7×400, pool exhausted/);
    assert.match(table, /1\.50 +9\.25 +0\.125/);
  });
});

describe('parseWrk', () => {
  const output = [
    'Running 5s test @ http://127.0.0.1:4000/v2/x/_trust/tuf/timestamp.json',
    '  1 threads and 32 connections',
    '  Thread Stats   Avg      Stdev     Max   +/- Stdev',
    '    Latency     2.37ms    1.20ms   1.02s    90.00%',
    '  Latency Distribution',
    '     50%  850.00us',
    '     75%    2.80ms',
    '     90%    3.50ms',
    '     99%    1.02s ',
    '  62645 requests in 5.00s, 30.00MB read',
    '  Socket errors: connect 0, read 2, write 0, timeout 3',
    '  Non-2xx or 3xx responses: 12',
    'Requests/sec:  12529.00',
  ].join('\n');

  test('reads requests, duration, percentiles in their units, failures and socket errors', () => {
    assert.deepEqual(parseWrk(output), { requests: 62645, seconds: 5, non2xx: 12, socketErrors: 5, p50Ms: 0.85, p99Ms: 1020 });
  });

  test('refuses output without a request count', () => {
    assert.throws(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused'), /unexpected wrk output/);
  });
});

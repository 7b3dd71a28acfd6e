// SPDX-License-Identifier: Apache-2.0
// The bench harness against the real servers, briefly: signet-server (the
// compiled main.js, PostgreSQL in a scratch database) and notary-server on a
// scratch database with notary's own tables (when the binary is installed)
// accept the repositories the bench builds, serve them back byte for byte,
// and the load phases count what the servers answered. Runs of 1 s, 4 connections.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadGet, loadPublish } from '../../bench/server-load.js';
import { loadGetWrk, wrkAvailable } from '../../bench/server-wrk.js';
import { createScratchDatabase, notaryDatabase, notaryServerAvailable, startNotary, startSignet, type ScratchDatabase, type ServerProcess } from '../../bench/server-procs.js';
import { BenchGun, fetchTimestampKey, getBytes, postPublish, tufPath } from '../../bench/server-repo.js';

const ADMIN_URL = process.env.SIGNET_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const LOAD = { connections: 4, durationSec: 1, warmupSec: 0 };

async function databaseExists(name: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await c.end();
  }
}

/** Init a GUN with `targetCount` targets; the bytes the server must serve back. */
async function init(url: string, g: BenchGun): Promise<{ root: Buffer; targets: Buffer }> {
  const first = await g.initialPublish(await fetchTimestampKey(url, g.gun));
  await postPublish(url, g.gun, first.body);
  return first;
}

for (const kind of ['signet', 'notary'] as const) {
  const skip = kind === 'notary' && !notaryServerAvailable() ? 'notary-server is not installed (Debian package notary)' : false;

  describe(`bench harness against ${kind}-server on PostgreSQL`, { skip }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-h12-bench-test-'));
    const name = `h12_test_${kind}_${process.pid}`;
    let db: ScratchDatabase;
    let server: ServerProcess;

    before(async () => {
      db = kind === 'signet' ? await createScratchDatabase(ADMIN_URL, name) : await notaryDatabase(ADMIN_URL, name);
      const options = { storage: 'postgres' as const, databaseUrl: db.url, dir, logLevel: 'warn' };
      server = kind === 'signet' ? await startSignet(options) : await startNotary(options);
    });

    after(async () => {
      await server?.stop();
      await db?.drop();
      assert.equal(await databaseExists(name), false, 'the scratch database was not dropped');
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('a repository of many targets is accepted and served current and by checksum', async () => {
      const g = await BenchGun.create('bench.example.com/harness-big', { targetCount: 300 });
      const { targets } = await init(server.url, g);
      assert.ok(targets.includes('pkg/99/artifact-299.tar.gz'));
      assert.deepEqual(await getBytes(server.url, tufPath(g.gun, 'targets.json')), targets);
      const sha = createHash('sha256').update(targets).digest('hex');
      assert.deepEqual(await getBytes(server.url, tufPath(g.gun, `targets.${sha}.json`)), targets);

      const r = await loadGet(server, tufPath(g.gun, 'timestamp.json'), LOAD);
      assert.ok(r.requests > 0 && r.ok === r.requests, `every GET answered 200 (${r.ok}/${r.requests})`);
      assert.ok(r.p50Ms > 0 && r.p99Ms >= r.p50Ms);
      assert.ok(r.cpuMsPerReq > 0, 'server CPU was measured');
      if (wrkAvailable()) {
        const w = await loadGetWrk(server, tufPath(g.gun, 'timestamp.json'), LOAD);
        assert.ok(w.requests > 0 && w.ok === w.requests && w.errors === 0, `wrk: every GET answered 200 (${w.ok}/${w.requests})`);
        assert.ok(w.p50Ms > 0 && w.p99Ms >= w.p50Ms);
      }
    });

    test('pre-signed publishes commit, and a run stops when its sequence is used up', async () => {
      const g = await BenchGun.create('bench.example.com/harness-publish');
      const { root } = await init(server.url, g);
      const sequence = await g.publishSequence(root, 2, 6);
      const r = await loadPublish(server, new Map([[g.gun, sequence]]), { ...LOAD, durationSec: 20 });
      assert.equal(r.exhausted, true);
      assert.ok(r.seconds < 15, `the run went on after the sequence ran out (${r.seconds} s)`);
      assert.ok(r.ok >= 1 && r.ok <= 6, `committed ${r.ok} of 6`);
      // Whatever raced, the served targets is one of the sequence and the last committed is the newest.
      const served = await getBytes(server.url, tufPath(g.gun, 'targets.json'));
      const versions = await Promise.all([2, 3, 4, 5, 6, 7].map((v) => g.targetsVersion(v)));
      assert.ok(
        versions.some((v) => v.equals(served)),
        'served targets is not one of the published versions',
      );
      if (kind === 'signet') assert.ok(r.ok >= 2, 'publishes of one GUN should wait for each other rather than all race');
    });
  });
}

// The load generator itself, against a recording HTTP server in this process:
// in per-connection mode every GUN's publishes arrive on one connection, in
// order, one at a time (a GUN spread over connections let its versions race).
test('per-connection publishes keep each GUN on one connection, in sequence order', async () => {
  const seen = new Map<string, { sockets: Set<number>; versions: number[] }>();
  const inFlight = new Set<string>();
  let overlaps = 0;
  let nextSocket = 0;
  const socketIds = new WeakMap<object, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const gun = req.url ?? '';
      if (inFlight.has(gun)) overlaps++;
      inFlight.add(gun);
      let id = socketIds.get(req.socket);
      if (id === undefined) socketIds.set(req.socket, (id = nextSocket++));
      const entry = seen.get(gun) ?? { sockets: new Set<number>(), versions: [] };
      entry.sockets.add(id);
      entry.versions.push(Number(Buffer.concat(chunks).toString()));
      seen.set(gun, entry);
      // Uneven answer times, so that connections drift apart as real ones do.
      setTimeout(() => {
        inFlight.delete(gun);
        res.end('{}');
      }, 1 + (id % 3) * 3);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const process_: ServerProcess = { kind: 'signet', storage: 'memory', url, pid: process.pid, logFile: '', stop: async () => {} };
    const guns = ['a', 'b', 'c', 'd'].map((n) => `bench.example.com/${n}`);
    const sequences = new Map(guns.map((g) => [g, Array.from({ length: 20_000 }, (_, v) => ({ body: Buffer.from(String(v)), contentType: 'text/plain' }))]));
    const r = await loadPublish(process_, sequences, { connections: 4, durationSec: 1, warmupSec: 0 }, 'per-connection');
    assert.ok(r.ok > 20, `too few requests to judge (${r.ok})`);
    assert.equal(overlaps, 0, 'a GUN had two publishes in flight at once');
    assert.equal(seen.size, 4);
    for (const [gun, { sockets, versions }] of seen) {
      assert.equal(sockets.size, 1, `${gun} was published over ${sockets.size} connections`);
      assert.deepEqual(versions, versions.map((_, i) => i), `${gun} versions out of order`);
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

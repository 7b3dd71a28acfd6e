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

// SPDX-License-Identifier: Apache-2.0
// Crash safety: a child process publishing in a loop is SIGKILLed at random
// points; the store must reopen (embedded: recovery, stale lock) and every
// GUN must hold whole publishes only: each role at the same versions 1..n,
// bytes intact, one changefeed update per timestamp.
import { after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { SqlClient } from '../../../server/storage/sql-client.js';
import { allBackends, itOn, uniqueGun, type Backend } from './backends.js';
import { sleep } from '../../support/net.js';
import { ROLES, expectedData } from './crash-child.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const ROUNDS = 3;

/** Runs the child until it has committed `publishes` publishes (plus a random few ms), then SIGKILLs it. */
async function runAndKill(backend: Backend, guns: string[], publishes: number): Promise<number> {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(backend.options), JSON.stringify(guns)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  let done = 0;
  let ready = false;
  let buffered = '';
  const enough = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') ready = true;
        else if (line !== '') done++;
      }
      if (ready && done >= publishes) resolve();
    });
    void exited.then((how) => reject(new Error(`crash child exited early (${String(how)}): ${stderr}`)));
  });
  await enough;
  await sleep(Math.floor(Math.random() * 15)); // land anywhere inside the next publishes
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  return done;
}

async function assertConsistent(client: SqlClient, guns: string[]): Promise<number> {
  let total = 0;
  for (const gun of guns) {
    const { rows } = await client.query<{ role: string; version: string | number; data: Uint8Array; sha256: string }>(
      'SELECT role, version, data, sha256 FROM tuf_files WHERE gun = $1 ORDER BY role, version',
      [gun],
    );
    const byRole = new Map<string, number[]>(ROLES.map((r) => [r, []]));
    for (const row of rows) {
      const version = Number(row.version);
      byRole.get(row.role)?.push(version);
      const data = Buffer.from(row.data);
      assert.ok(data.equals(expectedData(gun, row.role, version)), `${gun} ${row.role} v${version}: bytes intact`);
      assert.equal(row.sha256, createHash('sha256').update(data).digest('hex'));
    }
    const timestamps = byRole.get('timestamp') ?? [];
    const expected = timestamps.map((_, i) => i + 1);
    for (const role of ROLES) assert.deepEqual(byRole.get(role), expected, `${gun}: ${role} has exactly the published version sets`);
    const feed = await client.query<{ version: string | number }>("SELECT version FROM changefeed WHERE gun = $1 AND category = 'update' ORDER BY id", [gun]);
    assert.deepEqual(feed.rows.map((r) => Number(r.version)), expected, `${gun}: one changefeed update per timestamp, in order`);
    total += timestamps.length;
  }
  return total;
}

for (const backend of await allBackends('crash')) {
  describe(`crash safety (${backend.name})`, { timeout: 300_000 }, () => {
    const it = itOn(backend);
    after(() => backend.cleanup());

    it(`reopens consistent after ${ROUNDS} SIGKILLs at random points`, async () => {
      const guns = [uniqueGun('crash'), uniqueGun('crash'), uniqueGun('crash'), uniqueGun('crash')];
      await (await backend.client()).close(); // create the database before the first child
      let reported = 0;
      for (let round = 0; round < ROUNDS; round++) {
        reported += await runAndKill(backend, guns, 2 + Math.floor(Math.random() * 8));
        const client = await backend.client(); // embedded: recovery after the kill and a stale lock
        try {
          const stored = await assertConsistent(client, guns);
          // Every publish the child saw committed is there; one more may have committed unreported.
          assert.ok(stored >= reported && stored <= reported + 2, `stored ${stored} publishes, child reported ${reported}`);
          reported = stored;
        } finally {
          await client.close();
        }
      }
    });
  });
}

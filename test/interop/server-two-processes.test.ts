// SPDX-License-Identifier: Apache-2.0
// Two signet-server processes on one PostgreSQL database: whatever one
// acknowledges, the other serves on the very next request, although it had
// just served the previous state (no stale response cache across processes).
// Checked for publishes in both directions and for a delete, and read back
// with the notary CLI through each process.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { notaryCodec } from '../../shared/codec/notary.js';
import { notaryUnavailable } from '../support/notary-repo.js';
import {
  getMetadata,
  listRow,
  NotaryCli,
  parseTable,
  postgresStorage,
  postUpdate,
  signMetadata,
  SignetServerProcess,
  targetFile,
  trustDirSigner,
} from '../support/signet-server.js';
import { sleep } from '../support/net.js';

const PUBLISHES = 8;
const EXPIRES = { text: '2029-06-01T00:00:00Z', ms: Date.parse('2029-06-01T00:00:00Z') };
const missing = notaryUnavailable();
const storage = await postgresStorage();
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-h11-two-'));
after(async () => {
  await storage.cleanup();
  fs.rmSync(home, { recursive: true, force: true });
});

const content = (n: number): string => `two-process payload ${n}\n`;

describe('two signet-server processes sharing one PostgreSQL', { timeout: 180_000 }, () => {
  test('a publish or delete acknowledged by one is served by the other at once', async (t) => {
    if (missing !== null) return t.skip(`skipped: ${missing}`);
    if (storage.skip !== undefined) return t.skip(storage.skip);
    const started: SignetServerProcess[] = [];
    try {
      const a = await SignetServerProcess.start(storage.storage);
      started.push(a);
      const b = await SignetServerProcess.start(storage.storage);
      started.push(b);
      const gun = `example.com/h11-two-${randomBytes(4).toString('hex')}`;
      const owner = new NotaryCli(a.url, home);
      await owner.ok(['init', '-p', gun]);
      await owner.ok(['key', 'rotate', gun, 'snapshot', '-r']);
      const signer = await trustDirSigner(owner, 'targets');
      let { version, targets: names } = notaryCodec.parse((await getMetadata(a.url, gun, 'targets')).body, 'targets').signed;

      for (let i = 0; i < PUBLISHES; i++) {
        const writer = i % 2 === 0 ? a : b;
        const reader = i % 2 === 0 ? b : a;
        // Fill the reader's cache with the current state first.
        for (const role of ['timestamp', 'snapshot', 'targets']) assert.equal((await getMetadata(reader.url, gun, role)).status, 200);

        version += 1;
        names = new Map(names).set(`p${version}`, targetFile(content(version)));
        const data = await signMetadata({ type: 'targets', version, expires: EXPIRES, targets: names, delegations: null }, [signer]);
        const res = await postUpdate(writer.url, gun, [{ role: 'targets', data }]);
        assert.equal(res.status, 200, res.body);
        // Acknowledged: the other process must serve the new state on its next request.
        const seenTargets = await getMetadata(reader.url, gun, 'targets');
        const seenTs = await getMetadata(reader.url, gun, 'timestamp');
        const ownTs = await getMetadata(writer.url, gun, 'timestamp');
        assert.equal(seenTargets.body.toString(), data.toString(), `publish ${i + 1}: the other process serves the new targets`);
        assert.deepEqual(seenTs.body, ownTs.body, `publish ${i + 1}: both processes serve the same timestamp`);
        const snapHex = notaryCodec.parse(seenTs.body, 'timestamp').signed.meta.get('snapshot')?.hashes.get('sha256')?.toString('hex');
        const snapshot = await getMetadata(reader.url, gun, 'snapshot');
        assert.equal(createHash('sha256').update(snapshot.body).digest('hex'), snapHex, `publish ${i + 1}: current snapshot matches the timestamp`);
      }

      const expected = [...names.keys()].sort().map((n) => listRow(n, content(Number(n.slice(1)))));
      for (const srv of [a, b]) {
        const rows = parseTable((await new NotaryCli(srv.url, fs.mkdtempSync(path.join(home, 'reader-'))).ok(['list', gun])).stdout);
        assert.deepEqual(rows, expected, `notary list through ${srv === a ? 'the first' : 'the second'} process`);
      }

      // A delete through one process: the other answers 404 for current metadata at once. Files by
      // version or checksum never change, so they stay cached until the change notification arrives
      // (milliseconds); they must be gone within a second.
      const byVersion = `${version}.targets`;
      assert.equal((await getMetadata(b.url, gun, byVersion)).status, 200);
      assert.equal((await fetch(`${a.url}/v2/${gun}/_trust/tuf/`, { method: 'DELETE' })).status, 200);
      for (const name of ['timestamp', 'snapshot', 'targets', 'root']) {
        assert.equal((await getMetadata(b.url, gun, name)).status, 404, `${name}.json through the other process after delete`);
      }
      const deadline = Date.now() + 1000;
      while ((await getMetadata(b.url, gun, byVersion)).status !== 404) {
        assert.ok(Date.now() < deadline, `${byVersion}.json is still served by the other process a second after the delete`);
        await sleep(20);
      }
    } finally {
      for (const srv of started.reverse()) await srv.stop();
    }
  });
});

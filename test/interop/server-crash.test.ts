// SPDX-License-Identifier: Apache-2.0
// Crash safety of the whole server process, on both storages: two writers
// publish targets (the server signs snapshot and timestamp) as fast as they
// can; signet-server is SIGKILLed at a random moment and restarted on the
// same data. Each GUN must then be at its last acknowledged publish or at the
// one that was in flight, never between: timestamp -> snapshot -> targets and
// root chain by hash, versions move together, nothing newer exists, the
// changefeed ends at the served timestamp, and the notary CLI lists exactly
// the targets of that version.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { notaryCodec } from '../../shared/codec/notary.js';
import type { FileMeta, Signer, TargetFile } from '../../shared/tuf/model.js';
import { notaryUnavailable } from '../support/notary-repo.js';
import {
  bothStorages,
  getMetadata,
  listRow,
  NotaryCli,
  parseTable,
  postUpdate,
  signMetadata,
  SignetServerProcess,
  targetFile,
  trustDirSigner,
  type TestStorage,
} from '../support/signet-server.js';
import { sleep } from '../support/net.js';

const ROUNDS = 3;
const EXPIRES = { text: '2029-06-01T00:00:00Z', ms: Date.parse('2029-06-01T00:00:00Z') };
const missing = notaryUnavailable();
const storages: TestStorage[] = missing === null ? await bothStorages() : [];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-h11-crash-'));
after(async () => {
  for (const s of storages) await s.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const content = (n: number): string => `crash payload ${n}\n`;

/** One GUN being published to: what the server acknowledged so far. */
interface Writer {
  readonly gun: string;
  readonly owner: NotaryCli;
  readonly signer: Signer;
  /** Targets version and names of the last acknowledged publish. */
  acked: number;
  names: Map<string, TargetFile>;
  /** snapshot/timestamp version minus targets version: every publish moves all three by one. */
  readonly snapshotOffset: number;
  readonly timestampOffset: number;
}

async function fetchOk(url: string, gun: string, name: string): Promise<Buffer> {
  const got = await getMetadata(url, gun, name);
  assert.equal(got.status, 200, `${gun}: GET ${name}.json`);
  return got.body;
}

function assertMeta(meta: FileMeta | undefined, bytes: Buffer, what: string): void {
  assert.ok(meta !== undefined, `${what}: listed`);
  assert.equal(meta.length, bytes.length, `${what}: length`);
  assert.deepEqual(meta.hashes.get('sha256'), createHash('sha256').update(bytes).digest(), `${what}: sha256`);
}

/** Publish targets version acked+1 (one more target) until the server stops answering. */
async function publishLoop(url: string, w: Writer): Promise<void> {
  for (;;) {
    const version = w.acked + 1;
    const names = new Map(w.names).set(`t${version}`, targetFile(content(version)));
    const data = await signMetadata({ type: 'targets', version, expires: EXPIRES, targets: names, delegations: null }, [w.signer]);
    let status: number;
    try {
      status = (await postUpdate(url, w.gun, [{ role: 'targets', data }])).status;
    } catch {
      return; // killed mid-request
    }
    assert.equal(status, 200, `${w.gun}: publish of targets v${version}`);
    w.acked = version;
    w.names = names;
  }
}

/** The served state of the GUN is one whole publish: the acknowledged one or the next. Returns whether the one in flight had committed. */
async function assertWholePublish(url: string, w: Writer): Promise<boolean> {
  const tsBytes = await fetchOk(url, w.gun, 'timestamp');
  const ts = notaryCodec.parse(tsBytes, 'timestamp').signed;
  const snapHex = ts.meta.get('snapshot')?.hashes.get('sha256')?.toString('hex');
  const snapBytes = await fetchOk(url, w.gun, `snapshot.${snapHex}`);
  assertMeta(ts.meta.get('snapshot'), snapBytes, `${w.gun}: timestamp -> snapshot`);
  assert.deepEqual(await fetchOk(url, w.gun, 'snapshot'), snapBytes, 'the current snapshot is the one the timestamp names');
  const snap = notaryCodec.parse(snapBytes, 'snapshot').signed;
  const targetsBytes = await fetchOk(url, w.gun, 'targets');
  assertMeta(snap.meta.get('targets'), targetsBytes, `${w.gun}: snapshot -> targets`);
  assertMeta(snap.meta.get('root'), await fetchOk(url, w.gun, 'root'), `${w.gun}: snapshot -> root`);
  const targets = notaryCodec.parse(targetsBytes, 'targets').signed;

  const v = targets.version;
  assert.ok(v === w.acked || v === w.acked + 1, `${w.gun}: targets v${v} is the last acknowledged (v${w.acked}) or the one in flight`);
  assert.equal(snap.version - v, w.snapshotOffset, `${w.gun}: snapshot v${snap.version} belongs to targets v${v}`);
  assert.equal(ts.version - v, w.timestampOffset, `${w.gun}: timestamp v${ts.version} belongs to targets v${v}`);
  assert.equal((await getMetadata(url, w.gun, `${v + 1}.targets`)).status, 404, `${w.gun}: nothing newer than targets v${v} is stored`);
  assert.equal((await getMetadata(url, w.gun, `${snap.version + 1}.snapshot`)).status, 404, `${w.gun}: no orphan snapshot`);

  const feed = (await (await fetch(`${url}/v2/${w.gun}/_trust/changefeed?change_id=-1&records=1`)).json()) as { records: { Version: number; SHA256: string }[] | null };
  assert.deepEqual(
    feed.records?.map((r) => [r.Version, r.SHA256]),
    [[ts.version, createHash('sha256').update(tsBytes).digest('hex')]],
    `${w.gun}: the changefeed ends at the served timestamp`,
  );

  const inFlightCommitted = v === w.acked + 1;
  if (inFlightCommitted) {
    // Committed but never acknowledged: adopt it (its content is ours, one more target).
    w.names = new Map(w.names).set(`t${v}`, targetFile(content(v)));
    w.acked = v;
  }
  assert.deepEqual([...targets.targets.keys()].sort(), [...w.names.keys()].sort(), `${w.gun}: targets of v${v}`);
  return inFlightCommitted;
}

for (const storage of storages.length > 0 ? storages : [undefined]) {
  describe(`SIGKILL during publishes, then restart (${storage?.name ?? 'no binaries'})`, { timeout: 300_000 }, () => {
    test(`${ROUNDS} kills at random moments leave each GUN at a whole publish`, async (t) => {
      if (missing !== null) return t.skip(`skipped: ${missing}`);
      if (storage === undefined || storage.skip !== undefined) return t.skip(storage?.skip);
      let server = await SignetServerProcess.start(storage.storage);
      try {
        const writers: Writer[] = [];
        for (const label of ['a', 'b']) {
          const gun = `example.com/h11-crash-${label}-${randomBytes(4).toString('hex')}`;
          const owner = new NotaryCli(server.url, fs.mkdtempSync(path.join(scratch, `${label}-`)));
          await owner.ok(['init', '-p', gun]);
          await owner.ok(['key', 'rotate', gun, 'snapshot', '-r']); // the server signs snapshot and timestamp of every publish
          const targets = notaryCodec.parse(await fetchOk(server.url, gun, 'targets'), 'targets').signed;
          const snap = notaryCodec.parse(await fetchOk(server.url, gun, 'snapshot'), 'snapshot').signed;
          const ts = notaryCodec.parse(await fetchOk(server.url, gun, 'timestamp'), 'timestamp').signed;
          writers.push({
            gun,
            owner,
            signer: await trustDirSigner(owner, 'targets'),
            acked: targets.version,
            names: new Map(targets.targets),
            snapshotOffset: snap.version - targets.version,
            timestampOffset: ts.version - targets.version,
          });
        }

        let published = 0;
        let committedUnacknowledged = 0;
        const restartMs: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const before = writers.map((w) => w.acked);
          const loops = writers.map((w) => publishLoop(server.url, w));
          // Let a few publishes through, then kill at a moment the writers cannot see coming.
          while (writers.some((w, i) => w.acked < before[i]! + 5)) await sleep(5);
          await sleep(Math.floor(Math.random() * 300));
          await server.kill();
          assert.equal((await server.exitStatus()).signal, 'SIGKILL');
          await Promise.all(loops);

          const restartAt = Date.now();
          server = await SignetServerProcess.start(storage.storage);
          restartMs.push(Date.now() - restartAt);
          for (const [i, w] of writers.entries()) {
            if (await assertWholePublish(server.url, w)) committedUnacknowledged++;
            published += w.acked - before[i]!;
          }
        }
        t.diagnostic(`${published} publishes across ${ROUNDS} kills, ${committedUnacknowledged} of them committed but unacknowledged; restarts took ${restartMs.join(', ')} ms`);

        // The stock CLI reads every GUN after the last restart: signatures and hashes check out.
        for (const w of writers) {
          const reader = new NotaryCli(server.url, fs.mkdtempSync(path.join(scratch, 'reader-')));
          const rows = parseTable((await reader.ok(['list', w.gun])).stdout);
          const expected = [...w.names.keys()].sort().map((name) => listRow(name, content(Number(name.slice(1)))));
          assert.deepEqual(rows, expected, `${w.gun}: notary list after the crashes`);
        }
      } finally {
        await server.stop();
      }
    });
  });
}

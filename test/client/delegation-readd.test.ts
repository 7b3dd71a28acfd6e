// SPDX-License-Identifier: Apache-2.0
// Changing a delegate's key the usual way, `delegation remove` then `add` with
// the new certificate, against notary-server and signet-server: readers that
// cached the old snapshot keep reading (the delegator was re-made by its owner,
// not hidden by the snapshot's signer), and the new delegate's first publish is
// numbered above the version the server still holds, so the server takes it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixture } from '../support/paths.js';
import { notaryAsync, signet, type Run } from './support/cli-run.js';
import { startNotaryServer } from './support/notary.js';
import { startSignetServer, type TrustServer } from './support/signet-server.js';

const ok = (r: Run, what: string): void => assert.equal(r.code, 0, `${what}: ${r.stderr}`);

for (const [name, start] of [['notary-server', startNotaryServer], ['signet-server', startSignetServer]] as const) {
  describe(`a delegate's key changed by remove and add, against ${name}`, () => {
    let server: TrustServer;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-readd-'));
    const gun = 'example.com/readd';
    const owner = path.join(tmp, 'owner');
    const reader = path.join(tmp, 'reader');
    const s = (dir: string, ...args: string[]) => signet(['-s', server.url, '-d', dir, ...args]);
    const file = (n: string): string => {
      const f = path.join(tmp, n);
      fs.writeFileSync(f, `${n}\n`);
      return f;
    };
    const serverVersion = async (role: string): Promise<number> => {
      const r = await fetch(`${server.url}/v2/${gun}/_trust/tuf/${role}.json`);
      return ((await r.json()) as { signed: { version: number } }).signed.version;
    };

    before(async () => {
      server = await start();
      ok(await s(owner, 'init', gun, '-p'), 'init');
      ok(await s(owner, 'delegation', 'add', gun, 'targets/x', fixture('delegate-keys', 'releases.crt'), '--all-paths', '-p'), 'delegation add (first key)');
      ok(await s(owner, 'key', 'import', fixture('delegate-keys', 'releases.key'), '--role', 'targets/x'), 'key import');
      ok(await s(owner, 'add', gun, 'first', file('first'), '-r', 'targets/x', '-p'), 'first delegate publishes');
      ok(await s(owner, 'add', gun, 'second', file('second'), '-r', 'targets/x', '-p'), 'first delegate publishes again');
      ok(await s(reader, 'list', gun), 'reader caches the snapshot that records targets/x');
    });
    after(async () => {
      await server.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('readers with the old snapshot cached read on; the new delegate publishes above the held version', async () => {
      assert.equal(await serverVersion('targets/x'), 2);
      ok(await s(owner, 'delegation', 'remove', gun, 'targets/x', '--yes'), 'delegation remove');
      ok(await s(owner, 'delegation', 'add', gun, 'targets/x', fixture('delegate-keys', 'jenkins.crt'), '--all-paths', '-p'), 'delegation add (new key)');
      const read = await s(reader, 'list', gun);
      ok(read, 'the reader with the old snapshot');
      assert.doesNotMatch(read.stdout, /first|second/, 'the old delegate\'s targets are gone');

      ok(await s(owner, 'key', 'import', fixture('delegate-keys', 'jenkins.key'), '--role', 'targets/x'), 'key import (new key)');
      ok(await s(owner, 'add', gun, 'third', file('third'), '-r', 'targets/x', '-p'), 'the new delegate publishes');
      assert.equal(await serverVersion('targets/x'), 3, 'numbered above the version the server held');
      assert.match((await s(reader, 'list', gun)).stdout, /^third\s/m);
      const viaNotary = await notaryAsync(['list', gun], { trustDir: path.join(tmp, 'notary-reader'), server: server.url });
      ok(viaNotary, 'notary list');
      assert.match(viaNotary.stdout, /^third\s+[0-9a-f]{64}\s+6\s+targets\/x$/m);
    });

    it('remove, add and a target staged together in one changelist publish above the held version', async () => {
      ok(await s(owner, 'delegation', 'remove', gun, 'targets/x', '--yes'), 'stage delegation remove');
      ok(await s(owner, 'delegation', 'add', gun, 'targets/x', fixture('delegate-keys', 'releases.crt'), '--all-paths'), 'stage delegation add');
      ok(await s(owner, 'add', gun, 'fourth', file('fourth'), '-r', 'targets/x'), 'stage a target');
      ok(await s(owner, 'publish', gun), 'one publish');
      assert.equal(await serverVersion('targets/x'), 4, 'the re-made role continues from the version it had');
      const listed = (await s(reader, 'list', gun)).stdout;
      assert.match(listed, /^fourth\s/m);
      assert.doesNotMatch(listed, /^third\s/m, 'the removal emptied the role before the re-add');
    });
  });
}

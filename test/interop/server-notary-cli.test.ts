// SPDX-License-Identifier: Apache-2.0
// The stock notary 0.7 CLI against the compiled signet-server process, on the
// embedded store and on PostgreSQL: targets (add, addhash, list, lookup,
// verify, remove, status/reset, witness), delegations with a team role and
// delegates publishing with their own imported keys, key rotations
// (snapshot to the server, targets, root with a second client following) and
// delete --remote. One server per storage; every test has a GUN of its own.
// Outputs are compared with what the CLI must print, not only exit codes.

import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { notaryCodec } from '../../shared/codec/notary.js';
import { notaryUnavailable } from '../support/notary-repo.js';
import {
  bothStorages,
  canonicalIdOfCertificate,
  getMetadata,
  listRow,
  NotaryCli,
  opensslCertificate,
  parseTable,
  SignetServerProcess,
  type TestStorage,
} from '../support/signet-server.js';

const missing = notaryUnavailable();
const storages: TestStorage[] = missing === null ? await bothStorages() : [];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-h11-cli-'));
after(async () => {
  for (const s of storages) await s.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const uniqueGun = (label: string): string => `example.com/h11-${label}-${randomBytes(4).toString('hex')}`;
const PAYLOAD_1 = 'signet interop payload one\n';
const PAYLOAD_2 = 'second payload, added by hash\n';
const PAYLOAD_3 = 'delegated release payload\n';

function homeFor(label: string): string {
  return fs.mkdtempSync(path.join(scratch, `${label}-`));
}

function write(home: string, name: string, content: string): string {
  const file = path.join(home, name);
  fs.writeFileSync(file, content);
  return file;
}

async function serverRoot(url: string, gun: string) {
  const got = await getMetadata(url, gun, 'root');
  assert.equal(got.status, 200, `GET ${gun} root.json`);
  return notaryCodec.parse(got.body, 'root').signed;
}

async function serverVersion(url: string, gun: string, role: string): Promise<number> {
  const got = await getMetadata(url, gun, role);
  assert.equal(got.status, 200, `GET ${gun} ${role}.json`);
  return notaryCodec.parse(got.body, 'targets', { roleName: role }).signed.version;
}

async function listed(cli: NotaryCli, gun: string): Promise<string[][]> {
  return parseTable((await cli.ok(['list', gun])).stdout);
}

for (const storage of storages.length > 0 ? storages : [undefined]) {
  describe(`the notary 0.7 CLI against signet-server (${storage?.name ?? 'no binaries'})`, { timeout: 300_000 }, () => {
    let server: SignetServerProcess | undefined;
    before(async () => {
      if (storage !== undefined && storage.skip === undefined) server = await SignetServerProcess.start(storage.storage);
    });
    after(async () => {
      await server?.stop();
    });

    /** The running server, or null after marking the test skipped (say why). */
    function serverOrSkip(t: TestContext): SignetServerProcess | null {
      if (missing !== null) t.skip(`skipped: ${missing}`);
      else if (storage?.skip !== undefined) t.skip(storage.skip);
      else if (server === undefined) assert.fail('signet-server did not start');
      return missing === null && storage?.skip === undefined ? server! : null;
    }

    test('targets: init, add, addhash, list, lookup, verify, remove, status/reset, witness', async (t) => {
      const srv = serverOrSkip(t);
      if (srv === null) return;
      const gun = uniqueGun('targets');
      const home = homeFor('targets');
      const owner = new NotaryCli(srv.url, home);
      const f1 = write(home, 'one.txt', PAYLOAD_1);

      assert.match((await owner.ok(['init', '-p', gun])).stdout, new RegExp(`Successfully published changes for repository ${gun}`));
      assert.equal((await serverRoot(srv.url, gun)).version, 1);
      assert.match((await owner.ok(['list', gun])).stdout, /No targets present in this repository\./);

      await owner.ok(['add', '-p', gun, 'v1', f1]);
      const [name2, hex2, len2] = listRow('v2', PAYLOAD_2);
      const addhash = await owner.ok(['addhash', '-p', gun, name2!, len2!, '--sha256', hex2!]);
      assert.match(addhash.stdout, /Addition of target "v2" by sha256 hash/);
      assert.deepEqual(await listed(owner, gun), [listRow('v1', PAYLOAD_1), listRow('v2', PAYLOAD_2)]);

      // A second client with an empty trust dir sees the same (TOFU on the served root).
      const reader = new NotaryCli(srv.url, homeFor('reader'));
      assert.deepEqual(await listed(reader, gun), [listRow('v1', PAYLOAD_1), listRow('v2', PAYLOAD_2)]);

      const [, hex1, len1] = listRow('v1', PAYLOAD_1);
      assert.equal((await reader.ok(['lookup', gun, 'v1'])).stdout.trim(), `v1 sha256:${hex1} ${len1}`);
      assert.equal((await reader.ok(['verify', gun, 'v1'], PAYLOAD_1)).stdout, PAYLOAD_1, 'verify echoes content that matches');
      const wrong = await reader.run(['verify', gun, 'v1'], PAYLOAD_2);
      assert.notEqual(wrong.code, 0, 'verify refuses content that does not match');
      assert.ok(!wrong.stdout.includes(PAYLOAD_2), 'content that does not match is not echoed');
      assert.match(wrong.stdout + wrong.stderr, /data not present in the trusted collection, sha(256|512) checksum for v1 did not match/);
      assert.equal((await reader.ok(['verify', gun, 'v2'], PAYLOAD_2)).stdout, PAYLOAD_2, 'a target added by hash verifies too');

      // Staged, shown, reset: nothing reaches the server.
      const targetsVersion = await serverVersion(srv.url, gun, 'targets');
      await owner.ok(['remove', gun, 'v2']);
      assert.deepEqual(parseTable((await owner.ok(['status', gun])).stdout), [['0', 'delete', 'targets', 'target', 'v2']]);
      await owner.ok(['reset', gun, '--all']);
      assert.match((await owner.ok(['status', gun])).stdout, new RegExp(`No unpublished changes for ${gun}`));
      assert.equal(await serverVersion(srv.url, gun, 'targets'), targetsVersion);

      await owner.ok(['remove', '-p', gun, 'v2']);
      assert.deepEqual(await listed(reader, gun), [listRow('v1', PAYLOAD_1)]);
      assert.equal(await serverVersion(srv.url, gun, 'targets'), targetsVersion + 1);

      const witness = await owner.ok(['witness', '-p', gun, 'targets']);
      assert.match(witness.stdout, /successfully marked for witnessing/);
      assert.equal(await serverVersion(srv.url, gun, 'targets'), targetsVersion + 2, 'witness re-signs targets with a new version');
      assert.deepEqual(await listed(reader, gun), [listRow('v1', PAYLOAD_1)]);
    });

    test('delegations: add, list, delegates publishing with imported keys, witness, purge, remove', async (t) => {
      const srv = serverOrSkip(t);
      if (srv === null) return;
      const gun = uniqueGun('delegation');
      const owner = new NotaryCli(srv.url, homeFor('owner'));
      const delegate = new NotaryCli(srv.url, homeFor('delegate'));
      const member = new NotaryCli(srv.url, homeFor('member'));
      const f1 = write(owner.home, 'one.txt', PAYLOAD_1);
      const fr = write(delegate.home, 'release.txt', PAYLOAD_3);
      const fj = write(delegate.home, 'build.txt', PAYLOAD_2);
      const fm = write(member.home, 'build.txt', PAYLOAD_1);
      const releases = await opensslCertificate(owner.home, 'releases');
      const jenkins = await opensslCertificate(owner.home, 'jenkins');
      const jenkins2 = await opensslCertificate(owner.home, 'jenkins2');
      const idOf = (c: { cert: string }): string => canonicalIdOfCertificate(fs.readFileSync(c.cert, 'utf8'));

      await owner.ok(['init', '-p', gun]);
      await owner.ok(['add', '-p', gun, 'v1', f1]);
      // Delegates can publish only when the server signs snapshots.
      assert.match((await owner.ok(['key', 'rotate', gun, 'snapshot', '-r'])).stdout, /Successfully rotated snapshot key/);
      await owner.ok(['delegation', 'add', '-p', gun, 'targets/releases', releases.cert, '--all-paths']);
      await owner.ok(['delegation', 'add', '-p', gun, 'targets/jenkins', jenkins.cert, jenkins2.cert, '--paths', 'jenkins/']);
      const delegations = parseTable((await owner.ok(['delegation', 'list', gun])).stdout);
      assert.deepEqual(
        delegations.map(([role, paths, ...rest]) => [role, paths, rest.filter((c) => /^[0-9a-f]{64}$/.test(c)).sort(), rest.filter((c) => /^\d+$/.test(c))]),
        [
          ['targets/jenkins', 'jenkins/', [idOf(jenkins), idOf(jenkins2)].sort(), ['1']],
          ['targets/releases', '"" <all paths>', [idOf(releases)], ['1']],
        ],
      );

      await delegate.ok(['key', 'import', releases.key, '--role', 'targets/releases']);
      await delegate.ok(['key', 'import', jenkins.key, '--role', 'targets/jenkins']);
      await member.ok(['key', 'import', jenkins2.key, '--role', 'targets/jenkins']);
      assert.deepEqual(
        parseTable((await delegate.ok(['key', 'list'])).stdout).map((r) => [r[0], r[1]]),
        [
          ['targets/jenkins', idOf(jenkins)],
          ['targets/releases', idOf(releases)],
        ],
      );
      await delegate.ok(['add', '-p', gun, 'r1', fr, '--roles', 'targets/releases']);
      await delegate.ok(['add', '-p', gun, 'jenkins/build-1', fj, '--roles', 'targets/jenkins']);
      await member.ok(['add', '-p', gun, 'jenkins/build-2', fm, '--roles', 'targets/jenkins']);
      const full = [
        listRow('jenkins/build-1', PAYLOAD_2, 'targets/jenkins'),
        listRow('jenkins/build-2', PAYLOAD_1, 'targets/jenkins'),
        listRow('r1', PAYLOAD_3, 'targets/releases'),
        listRow('v1', PAYLOAD_1),
      ];
      assert.deepEqual(await listed(owner, gun), full);
      assert.deepEqual(await listed(delegate, gun), full);

      // The CLI itself refuses a path outside the delegation (signet's own refusal is in server-stricter).
      const outside = await delegate.run(['add', '-p', gun, 'outside', fj, '--roles', 'targets/jenkins']);
      assert.notEqual(outside.code, 0);
      assert.match(outside.stdout + outside.stderr, /Could not add all targets/);
      await delegate.ok(['reset', gun, '--all']);

      // Purge the team member's key: targets/jenkins, last signed by that key, stops verifying...
      await owner.ok(['delegation', 'purge', '-p', gun, '--key', idOf(jenkins2)]);
      const afterPurge = parseTable((await owner.ok(['delegation', 'list', gun])).stdout);
      assert.deepEqual(afterPurge.find((r) => r[0] === 'targets/jenkins')?.slice(0, 4), ['targets/jenkins', 'jenkins/', idOf(jenkins), '1']);
      assert.deepEqual(await listed(owner, gun), [full[2], full[3]]);
      // ...until the remaining member witnesses it (re-signs with its own key).
      const jenkinsVersion = await serverVersion(srv.url, gun, 'targets/jenkins');
      await delegate.ok(['witness', '-p', gun, 'targets/jenkins']);
      assert.equal(await serverVersion(srv.url, gun, 'targets/jenkins'), jenkinsVersion + 1);
      assert.deepEqual(await listed(owner, gun), full);

      // Remove one key of a role, then a whole role.
      await owner.ok(['delegation', 'add', '-p', gun, 'targets/jenkins', jenkins2.cert]);
      await owner.ok(['delegation', 'remove', '-p', '-y', gun, 'targets/jenkins', idOf(jenkins2)]);
      await owner.ok(['delegation', 'remove', '-p', '-y', gun, 'targets/releases']);
      assert.deepEqual(
        parseTable((await owner.ok(['delegation', 'list', gun])).stdout),
        [['targets/jenkins', 'jenkins/', idOf(jenkins), '1']],
      );
      assert.deepEqual(await listed(owner, gun), [full[0], full[1], full[3]]);
      // The removed member can no longer publish.
      const refused = await member.run(['add', '-p', gun, 'jenkins/build-3', fm, '--roles', 'targets/jenkins']);
      assert.notEqual(refused.code, 0, refused.stdout + refused.stderr);
      assert.deepEqual(await listed(delegate, gun), [full[0], full[1], full[3]]);
    });

    test('purging the last key of a delegation (Go writes "keyids":null) is accepted, as by notary-server', async (t) => {
      const srv = serverOrSkip(t);
      if (srv === null) return;
      const gun = uniqueGun('purge-last');
      const owner = new NotaryCli(srv.url, homeFor('purge-last'));
      const releases = await opensslCertificate(owner.home, 'releases');
      await owner.ok(['init', '-p', gun]);
      await owner.ok(['key', 'rotate', gun, 'snapshot', '-r']);
      await owner.ok(['delegation', 'add', '-p', gun, 'targets/releases', releases.cert, '--all-paths']);
      await owner.ok(['delegation', 'purge', '-p', gun, '--key', canonicalIdOfCertificate(fs.readFileSync(releases.cert, 'utf8'))]);
      const targets = await getMetadata(srv.url, gun, 'targets');
      assert.match(targets.body.toString(), /"keyids":null,"name":"targets\/releases"/);
    });

    test('notary\'s nil and repeated lists are accepted: the last delegation removed ("roles":null), one certificate given twice', async (t) => {
      const srv = serverOrSkip(t);
      if (srv === null) return;
      const gun = uniqueGun('nil-roles');
      const owner = new NotaryCli(srv.url, homeFor('nil-roles'));
      const releases = await opensslCertificate(owner.home, 'releases');
      await owner.ok(['init', '-p', gun]);
      await owner.ok(['key', 'rotate', gun, 'snapshot', '-r']);
      await owner.ok(['delegation', 'add', '-p', gun, 'targets/releases', releases.cert, releases.cert, '--all-paths']);
      assert.match((await getMetadata(srv.url, gun, 'targets')).body.toString(), /"keyids":\["([0-9a-f]{64})","\1"\]/);
      await owner.ok(['delegation', 'remove', '-p', '-y', gun, 'targets/releases']);
      assert.match((await getMetadata(srv.url, gun, 'targets')).body.toString(), /"roles":null/);
    });

    test('key rotation: snapshot to the server, targets, root with a second client following', async (t) => {
      const srv = serverOrSkip(t);
      if (srv === null) return;
      const gun = uniqueGun('rotate');
      const owner = new NotaryCli(srv.url, homeFor('rotate-owner'));
      const follower = new NotaryCli(srv.url, homeFor('rotate-follower'));
      const f1 = write(owner.home, 'one.txt', PAYLOAD_1);
      const cachedRoot = () => notaryCodec.parse(fs.readFileSync(path.join(follower.trustDir, 'tuf', gun, 'metadata', 'root.json')), 'root').signed;

      await owner.ok(['init', '-p', gun]);
      await owner.ok(['add', '-p', gun, 'v1', f1]);
      assert.deepEqual(await listed(follower, gun), [listRow('v1', PAYLOAD_1)]);
      const root1 = await serverRoot(srv.url, gun);
      assert.equal(cachedRoot().version, 1);

      await owner.ok(['key', 'rotate', gun, 'snapshot', '-r']);
      const root2 = await serverRoot(srv.url, gun);
      assert.equal(root2.version, 2);
      const snapshotKey = notaryCodec.parseKey(JSON.parse(await (await fetch(`${srv.url}/v2/${gun}/_trust/tuf/snapshot.key`)).text()), 'snapshot.key');
      assert.deepEqual(root2.roles.get('snapshot')?.keyIds, [snapshotKey.id], 'root lists the key the server holds');
      await owner.ok(['add', '-p', gun, 'v2', f1]); // the server signs the snapshot now

      await owner.ok(['key', 'rotate', gun, 'targets']);
      const root3 = await serverRoot(srv.url, gun);
      assert.equal(root3.version, 3);
      assert.notDeepEqual(root3.roles.get('targets')?.keyIds, root1.roles.get('targets')?.keyIds);
      const both = [listRow('v1', PAYLOAD_1), listRow('v2', PAYLOAD_1)];
      assert.deepEqual(await listed(follower, gun), both);
      assert.equal(cachedRoot().version, 3);

      const rotate = await owner.ok(['key', 'rotate', gun, 'root'], 'yes\n');
      assert.match(rotate.stdout, /Successfully rotated root key/);
      const root4 = await serverRoot(srv.url, gun);
      assert.equal(root4.version, 4);
      assert.notDeepEqual(root4.roles.get('root')?.keyIds, root3.roles.get('root')?.keyIds);
      await owner.ok(['add', '-p', gun, 'v3', f1]);
      // The follower trusted root v3 (old root key) and walks to v4 by itself.
      assert.deepEqual(await listed(follower, gun), [...both, listRow('v3', PAYLOAD_1)]);
      assert.equal(cachedRoot().version, 4);
      assert.deepEqual(cachedRoot().roles.get('root')?.keyIds, root4.roles.get('root')?.keyIds);
    });

    test('delete --remote removes the GUN from the server', async (t) => {
      const srv = serverOrSkip(t);
      if (srv === null) return;
      const gun = uniqueGun('delete');
      const owner = new NotaryCli(srv.url, homeFor('delete'));
      await owner.ok(['init', '-p', gun]);
      await owner.ok(['add', '-p', gun, 'v1', write(owner.home, 'one.txt', PAYLOAD_1)]);
      const del = await owner.ok(['delete', gun, '--remote']);
      assert.match(del.stdout, new RegExp(`Successfully deleted local and remote trust data for repository ${gun}`));
      for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
        const got = await getMetadata(srv.url, gun, role);
        assert.equal(got.status, 404, `${role}.json after delete`);
        assert.match(got.body.toString(), /"code":"METADATA_NOT_FOUND"/);
      }
      const stranger = await new NotaryCli(srv.url, homeFor('stranger')).run(['list', gun]);
      assert.notEqual(stranger.code, 0);
      assert.match(stranger.stdout + stranger.stderr, new RegExp(`does not have trust data for ${gun}`));
      // The name is free again: a new owner can initialise it with new keys.
      await new NotaryCli(srv.url, homeFor('new-owner')).ok(['init', '-p', gun]);
      assert.equal((await serverRoot(srv.url, gun)).version, 1);
    });
  });
}

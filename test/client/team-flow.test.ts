// SPDX-License-Identifier: Apache-2.0
// The seed flow of a team, end to end, against the real notary-server and
// against signet-server (real service, embedded store), with the notary CLI
// sharing trust dirs both ways:
//   owner: init, delegations (openssl-made certificates), snapshot key to the server;
//   delegate: imports its keys with `notary key import`, publishes with signet,
//   is refused outside its paths and before the server holds the snapshot key;
//   sign into two roles, verify, witness, remove, a rebase that no longer
//   applies, purge, delete --remote.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../client/exit-codes.js';
import { fixture } from '../support/paths.js';
import { notaryAsync, signet, treeOf } from './support/cli-run.js';
import { startNotaryServer } from './support/notary.js';
import { startSignetServer, type TrustServer } from './support/signet-server.js';

const RELEASES_CANON = '1d755a178a2a415a21a7fb6e4ddd807bbda71992546368f10c1c982a08d90612';
const JENKINS_CANON = 'a12a59c9425677565613dd32e9eaaff1954bb044d09a966cbf4da4a80c28c3ea';
const DIGEST_HEX = 'c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2';

type Server = TrustServer;

function teamFlow(name: string, start: () => Promise<Server>): void {
  describe(`team flow against ${name}`, () => {
    let server: Server;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-team-'));
    const gun = 'example.com/team';
    const dirs = { owner: path.join(tmp, 'owner'), delegate: path.join(tmp, 'delegate'), reader: path.join(tmp, 'reader') };
    const payload = path.join(tmp, 'release.txt');
    const cert = (n: string): string => fixture('delegate-keys', `${n}.crt`);
    const s = (dir: string, ...args: string[]) => signet(['-s', server.url, '-d', dir, ...args]);
    const notary = (dir: string, ...args: string[]) => notaryAsync(args, { trustDir: dir, server: server.url });
    const gunTree = (dir: string) => treeOf(path.join(dir, 'tuf', ...gun.split('/')));
    const serverRole = async (role: string): Promise<{ status: number; version?: number; targets?: string[] }> => {
      const r = await fetch(`${server.url}/v2/${gun}/_trust/tuf/${role}.json`);
      if (r.status !== 200) return { status: r.status };
      const doc = (await r.json()) as { signed: { version: number; targets?: Record<string, unknown> } };
      return { status: 200, version: doc.signed.version, targets: Object.keys(doc.signed.targets ?? {}).sort() };
    };
    const ok = (r: { code: number; stdout: string; stderr: string }, what: string): void => assert.equal(r.code, 0, `${what}\n${r.stdout}${r.stderr}`);

    before(async () => {
      server = await start();
      fs.writeFileSync(payload, 'release payload\n');
    });
    after(async () => {
      await server.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('owner: init, two delegations from openssl certificates, listed as notary lists them', async () => {
      ok(await s(dirs.owner, 'init', gun, '-p'), 'init');
      const add = await s(dirs.owner, 'delegation', 'add', gun, 'targets/releases', cert('releases'), '--all-paths');
      ok(add, 'delegation add');
      assert.match(add.stdout, new RegExp(`Addition of delegation role targets/releases with keys \\[${RELEASES_CANON}\\], with paths \\["" <all paths>\\], to repository "${gun}" staged`));
      ok(await s(dirs.owner, 'delegation', 'add', gun, 'targets/jenkins', cert('jenkins'), '--paths', 'jenkins/', '-p'), 'delegation add -p');
      const mine = await s(dirs.owner, 'delegation', 'list', gun);
      ok(mine, 'delegation list');
      const theirs = await notary(dirs.reader, 'delegation', 'list', gun);
      ok(theirs, 'notary delegation list');
      assert.equal(mine.stdout, theirs.stdout);
      assert.match(mine.stdout, new RegExp(`targets/jenkins\\s+jenkins/\\s+${JENKINS_CANON}\\s+1`));
      const json = JSON.parse((await s(dirs.owner, '--output', 'json', 'delegation', 'list', gun)).stdout) as unknown;
      assert.deepEqual(json, [
        { role: 'targets/jenkins', paths: ['jenkins/'], keyIds: [JENKINS_CANON], threshold: 1 },
        { role: 'targets/releases', paths: [''], keyIds: [RELEASES_CANON], threshold: 1 },
      ]);
    });

    it('delegate: imports its keys with notary; its publish is refused while the owner holds the snapshot key, and loses nothing', async () => {
      for (const role of ['releases', 'jenkins']) {
        ok(await notary(dirs.delegate, 'key', 'import', fixture('delegate-keys', `${role}.key`), '--role', `targets/${role}`), `key import ${role}`);
      }
      ok(await s(dirs.delegate, 'add', gun, 'release-1', payload, '-r', 'targets/releases'), 'stage');
      const before = gunTree(dirs.delegate);
      const refused = await s(dirs.delegate, 'publish', gun);
      assert.equal(refused.code, EXIT.REJECTED, refused.stderr);
      assert.match(refused.stderr, new RegExp(`key rotate ${gun} snapshot -r`));
      assert.deepEqual(gunTree(dirs.delegate), before, 'changelist and cache unchanged');
    });

    it('owner moves the snapshot key to the server; the delegate publishes into its roles', async () => {
      ok(await s(dirs.owner, 'key', 'rotate', gun, 'snapshot', '-r'), 'key rotate snapshot -r');
      const pub = await s(dirs.delegate, '-v', 'publish', gun);
      ok(pub, 'delegate publish');
      // Only its role: the server signs snapshot and timestamp.
      assert.match(pub.stderr, /signet info: uploading targets\/releases \(\d+ bytes\)\n/);
      assert.equal((await s(dirs.delegate, 'status', gun)).stdout, `No unpublished changes for ${gun}\n`);
      ok(await s(dirs.delegate, 'addhash', gun, 'jenkins/build-42', '17', '--sha256', DIGEST_HEX, '-r', 'targets/jenkins', '-p'), 'addhash -p');
      const releases = await s(dirs.reader, 'list', gun, '-r', 'targets/releases');
      ok(releases, 'list -r');
      assert.match(releases.stdout, /^release-1\s+[0-9a-f]{64}\s+16\s+targets\/releases$/m);
      assert.doesNotMatch(releases.stdout, /jenkins\/build-42/);
      const theirs = await notary(path.join(tmp, 'reader2'), 'list', gun);
      ok(theirs, 'notary list');
      assert.equal((await s(dirs.reader, 'list', gun)).stdout, theirs.stdout);
      assert.match(theirs.stdout, new RegExp(`^jenkins/build-42\\s+${DIGEST_HEX}\\s+17\\s+targets/jenkins$`, 'm'));
    });

    it('refuses a target outside the delegation paths before sending anything', async () => {
      const before = await serverRole('targets/jenkins');
      const r = await s(dirs.delegate, 'add', gun, 'outside-jenkins-paths', payload, '-r', 'targets/jenkins', '-p');
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, /target "outside-jenkins-paths" is outside the paths delegated to targets\/jenkins \("jenkins\/"\)/);
      assert.deepEqual(await serverRole('targets/jenkins'), before);
      assert.equal((await s(dirs.delegate, 'status', gun, '--output', 'json')).stdout.includes('outside-jenkins-paths'), true, 'still staged');
      ok(await s(dirs.delegate, 'reset', gun, '--all'), 'reset');
    });

    it('notary publishes into signet-made delegations and adds one; signet sees both', async () => {
      ok(await notary(dirs.delegate, 'add', '-p', gun, 'notary-rel', payload, '--roles', 'targets/releases'), 'notary add to delegation');
      ok(await notary(dirs.owner, 'delegation', 'add', '-p', gun, 'targets/ci', cert('releases'), '--all-paths'), 'notary delegation add');
      const list = await s(dirs.reader, 'list', gun);
      assert.match(list.stdout, /^notary-rel\s+[0-9a-f]{64}\s+16\s+targets\/releases$/m);
      const dl = await s(dirs.reader, 'delegation', 'list', gun, '--output', 'json');
      assert.deepEqual((JSON.parse(dl.stdout) as Array<{ role: string }>).map((d) => d.role), ['targets/ci', 'targets/jenkins', 'targets/releases']);
    });

    it('each tool publishes the other\'s staged changes (changelist files are shared)', async () => {
      ok(await s(dirs.owner, 'delegation', 'add', gun, 'targets/qa', cert('jenkins'), '--paths', 'qa/'), 'signet stages');
      ok(await notary(dirs.owner, 'publish', gun), 'notary publishes signet\'s changes');
      let roles = (JSON.parse((await s(dirs.reader, 'delegation', 'list', gun, '--output', 'json')).stdout) as Array<{ role: string; paths: string[] }>).map((d) => `${d.role}:${d.paths.join()}`);
      assert.ok(roles.includes('targets/qa:qa/'), roles.join(' '));
      ok(await notary(dirs.owner, 'delegation', 'remove', gun, 'targets/qa', '-y'), 'notary stages');
      ok(await notary(dirs.delegate, 'add', gun, 'staged-by-notary', payload, '--roles', 'targets/releases'), 'notary stages a target');
      ok(await s(dirs.owner, 'publish', gun), 'signet publishes notary\'s delegation removal');
      ok(await s(dirs.delegate, 'publish', gun), 'signet publishes notary\'s target');
      roles = (JSON.parse((await s(dirs.reader, 'delegation', 'list', gun, '--output', 'json')).stdout) as Array<{ role: string }>).map((d) => d.role);
      assert.deepEqual(roles, ['targets/ci', 'targets/jenkins', 'targets/releases']);
      assert.match((await notary(dirs.reader, 'list', gun)).stdout, /^staged-by-notary\s+[0-9a-f]{64}\s+16\s+targets\/releases$/m);
    });

    it('sign: one CI command into two roles (and docker\'s default roles); notary lists the tag in both', async () => {
      const r = await s(dirs.delegate, '--output', 'json', 'sign', gun, '1.0', '--digest', `sha256:${DIGEST_HEX}`, '--size', '528', '-r', 'targets/releases', '-r', 'targets/ci');
      ok(r, 'sign');
      assert.deepEqual((JSON.parse(r.stdout) as { roles: string[] }).roles, ['targets/releases', 'targets/ci']);
      for (const role of ['targets/releases', 'targets/ci']) {
        const l = await notary(dirs.reader, 'list', gun, '--roles', role);
        ok(l, `notary list --roles ${role}`);
        assert.match(l.stdout, new RegExp(`^1\\.0\\s+${DIGEST_HEX}\\s+528\\s+${role.replace('/', '\\/')}$`, 'm'));
      }
      // No -r: every top-level delegation covering the tag whose key is held (jenkins/ does not cover 1.1).
      const d = await s(dirs.delegate, '--output', 'json', 'sign', gun, '1.1', '--digest', `sha256:${DIGEST_HEX}`, '--size', '528');
      ok(d, 'sign default roles');
      assert.deepEqual((JSON.parse(d.stdout) as { roles: string[] }).roles, ['targets/releases', 'targets/ci']);
      const bad = await s(dirs.delegate, 'sign', gun, '1.2', '--digest', 'sha256:xyz', '--size', '528');
      assert.equal(bad.code, EXIT.USAGE);
      // No passphrase in the environment: fails with exit 3, never prompts, publishes nothing.
      const locked = await signet(['-s', server.url, '-d', dirs.delegate, 'sign', gun, '1.3', '--digest', `sha256:${DIGEST_HEX}`, '--size', '528', '-r', 'targets/releases'], { env: { NOTARY_DELEGATION_PASSPHRASE: '', CI: '' } });
      assert.equal(locked.code, EXIT.CREDENTIALS, locked.stderr);
      assert.match(locked.stderr, /NOTARY_DELEGATION_PASSPHRASE.*\(this command never prompts\)/);
      assert.doesNotMatch(locked.stderr, /interactive terminal/, 'sign never prompts, so it does not suggest a terminal');
      assert.doesNotMatch((await s(dirs.reader, 'list', gun)).stdout, /^1\.3\s/m);
    });

    it('verify writes matching content to stdout and refuses other bytes', async () => {
      const content = fs.readFileSync(payload);
      const good = await s(dirs.reader, 'verify', gun, 'release-1');
      assert.equal(good.code, EXIT.VERIFICATION, 'empty stdin is not the content');
      const match = await signet(['-s', server.url, '-d', dirs.reader, 'verify', gun, 'release-1'], { input: content });
      ok(match, 'verify');
      assert.equal(match.stdout, content.toString());
      const other = await signet(['-s', server.url, '-d', dirs.reader, 'verify', gun, 'release-1'], { input: 'release payloaD\n' });
      assert.equal(other.code, EXIT.VERIFICATION, other.stderr);
      assert.equal(other.stdout, '');
      assert.match(other.stderr, /does not match the trusted sha(256|512) of release-1/);
      const missing = await signet(['-s', server.url, '-d', dirs.reader, 'verify', gun, 'nope'], { input: content });
      assert.equal(missing.code, EXIT.NOT_FOUND);
      // notary's -i/-o/-q: from a file, to a file (only when it matches), or nothing but the exit code.
      const out = path.join(path.dirname(payload), 'verified.out');
      ok(await s(dirs.reader, 'verify', gun, 'release-1', '-i', payload, '-o', out), 'verify -i -o');
      assert.deepEqual(fs.readFileSync(out), content);
      const quiet = await s(dirs.reader, 'verify', gun, 'release-1', '--input', payload, '-q');
      ok(quiet, 'verify -q');
      assert.equal(quiet.stdout, '');
      const wrongFile = path.join(path.dirname(payload), 'wrong.bin');
      fs.writeFileSync(wrongFile, 'release payloaD\n');
      const refused = await s(dirs.reader, 'verify', gun, 'release-1', '-i', wrongFile, '-o', `${out}.2`);
      assert.equal(refused.code, EXIT.VERIFICATION);
      assert.ok(!fs.existsSync(`${out}.2`), 'nothing written for content that does not match');
      // notary's long form, --output FILE, names the file here too (signet's --output otherwise takes text or json).
      ok(await s(dirs.reader, 'verify', gun, 'release-1', '-i', payload, '--output', `${out}.3`), 'verify --output FILE');
      assert.deepEqual(fs.readFileSync(`${out}.3`), content);
      const notary = await notaryAsync(['verify', gun, 'release-1', '-i', payload, '-q'], { trustDir: dirs.reader, server: server.url });
      assert.equal(notary.code, 0, `notary accepts the same flags: ${notary.stderr}`);
    });

    it('witness re-signs a role unchanged with version + 1; remove unsigns a target', async () => {
      const before = await serverRole('targets/releases');
      ok(await s(dirs.delegate, 'witness', gun, 'targets/releases', '-p'), 'witness');
      const afterWitness = await serverRole('targets/releases');
      assert.equal(afterWitness.version, before.version! + 1);
      assert.deepEqual(afterWitness.targets, before.targets);
      const bad = await s(dirs.delegate, 'witness', gun, 'root');
      assert.equal(bad.code, EXIT.USAGE);
      ok(await s(dirs.delegate, 'remove', gun, 'release-1', '-r', 'targets/releases', '-p'), 'remove -p');
      const l = await notary(dirs.reader, 'list', gun);
      ok(l, 'notary list');
      assert.doesNotMatch(l.stdout, /^release-1\s/m);
      assert.match(l.stdout, /^notary-rel\s/m);
    });

    it('a staged change for a delegation the owner removed meanwhile is reported, and nothing is lost', async () => {
      ok(await s(dirs.delegate, 'add', gun, 'ci-thing', payload, '-r', 'targets/ci'), 'stage');
      ok(await s(dirs.owner, 'delegation', 'remove', gun, 'targets/ci', '--yes', '-p'), 'owner removes targets/ci');
      const before = gunTree(dirs.delegate);
      const r = await s(dirs.delegate, 'publish', gun);
      assert.equal(r.code, EXIT.USAGE, r.stderr);
      assert.match(r.stderr, /staged change #0 \(create target targets\/ci "ci-thing"\) cannot be applied .*targets\/ci is not delegated/);
      assert.match(r.stderr, new RegExp(`signet reset ${gun} -n 0`));
      assert.deepEqual(gunTree(dirs.delegate), before, 'changelist and cache unchanged');
      ok(await s(dirs.delegate, 'reset', gun, '--all'), 'reset');
    });

    it('witness revives a delegation after its key changed; purge removes a key from every delegation', async () => {
      ok(await s(dirs.owner, 'delegation', 'remove', gun, 'targets/jenkins', '--yes'), 'stage removal of jenkins');
      ok(await s(dirs.owner, 'delegation', 'add', gun, 'targets/releases', cert('jenkins'), '-p'), 'second key for releases');
      const list = async () => JSON.parse((await s(dirs.reader, 'delegation', 'list', gun, '--output', 'json')).stdout) as Array<{ role: string; keyIds: string[] }>;
      assert.deepEqual(await list(), [{ role: 'targets/releases', paths: [''], keyIds: [RELEASES_CANON, JENKINS_CANON], threshold: 1 }]);
      // The releases key leaves: targets/releases, signed by it, no longer verifies.
      const removal = await s(dirs.owner, 'delegation', 'remove', gun, 'targets/releases', RELEASES_CANON, '-p');
      ok(removal, 'remove the releases key');
      assert.match(removal.stderr, /warning: targets\/releases of .* is signed by keys this change removes: .*signet witness .* targets\/releases -p/);
      const stale = await s(dirs.reader, 'list', gun);
      assert.match(stale.stderr, /skipping targets\/releases/);
      assert.doesNotMatch(stale.stdout, /^notary-rel\s/m);
      // The delegate re-signs it unchanged with the remaining (jenkins) key.
      ok(await s(dirs.delegate, '-D', 'witness', gun, 'targets/releases', '-p'), 'witness an invalid role');
      const revived = await notary(dirs.reader, 'list', gun);
      ok(revived, 'notary list');
      assert.match(revived.stdout, /^notary-rel\s+[0-9a-f]{64}\s+16\s+targets\/releases$/m);
      ok(await s(dirs.owner, 'delegation', 'add', gun, 'targets/releases', cert('releases'), '-p'), 'releases key back');
      ok(await s(dirs.owner, 'delegation', 'purge', gun, '--key', JENKINS_CANON, '-p'), 'purge');
      assert.deepEqual((await list())[0]?.keyIds, [RELEASES_CANON]);
      const theirs = await notary(dirs.reader, 'delegation', 'list', gun);
      assert.equal((await s(dirs.reader, 'delegation', 'list', gun)).stdout, theirs.stdout);
    });

    it('-v logs the HTTP exchanges on stderr, without secrets', async () => {
      const r = await s(dirs.reader, '-v', 'list', gun);
      ok(r, 'list -v');
      assert.match(r.stderr, new RegExp(`signet info: GET ${server.url}/v2/${gun}/_trust/tuf/timestamp\\.json -> 200`));
      assert.doesNotMatch(r.stderr, /interop-[a-z]+-pass/);
    });

    it('delete --remote makes the GUN 404 and removes the local trust data; a reader falls back to its cache with a warning', async () => {
      const r = await s(dirs.owner, 'delete', gun, '--remote');
      ok(r, 'delete --remote');
      assert.equal(r.stdout, `Deleting trust data for repository ${gun}\nSuccessfully deleted local and remote trust data for repository ${gun}\n`);
      assert.equal((await serverRole('root')).status, 404);
      assert.equal(fs.existsSync(path.join(dirs.owner, 'tuf', ...gun.split('/'), 'metadata')), false);
      assert.equal(fs.existsSync(path.join(dirs.owner, 'private')), true, 'keys stay');
      const reader = await s(dirs.reader, 'list', gun);
      ok(reader, 'cached list');
      assert.match(reader.stderr, /using the cached one/);
      const fresh = await s(path.join(tmp, 'fresh'), 'list', gun);
      assert.equal(fresh.code, EXIT.NOT_FOUND, fresh.stderr);
    });
  });
}

const haveNotary = fs.existsSync('/usr/bin/notary') && fs.existsSync('/usr/bin/notary-server');
if (haveNotary) {
  teamFlow('notary-server', startNotaryServer);
  teamFlow('signet-server', startSignetServer);
} else {
  describe('team flow', { skip: 'notary binaries not installed' }, () => undefined);
}

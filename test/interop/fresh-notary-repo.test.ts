// SPDX-License-Identifier: Apache-2.0
// Fresh data from the real binaries: a notary-server and the notary CLI build a
// repository (init, add, server-managed snapshot, a delegation with an
// openssl-made certificate, a delegate publish); every role is then downloaded
// over HTTP and the whole chain is verified with TrustedMetadataSet. The server
// is killed at the end, also on failure. Skipped only when the binaries are missing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { notaryCodec } from '../../shared/codec/notary.js';
import { ExpiredMetadataError, LengthOrHashMismatchError } from '../../shared/errors.js';
import { notaryRootKeyRules } from '../../shared/verify/root-key-rules.js';
import { TrustedMetadataSet } from '../../shared/verify/trusted-set.js';
import { NotaryRepo, NotaryServerProcess, notaryUnavailable } from '../support/notary-repo.js';

const GUN = 'example.com/h4-interop';
const missing = notaryUnavailable();

describe('a repository made by notary 0.7 verifies with TrustedMetadataSet', { skip: missing === null ? false : `skipped: ${missing}` }, () => {
  let server: NotaryServerProcess | undefined;
  let repo: NotaryRepo | undefined;
  const files = new Map<string, Buffer>();
  const payload = 'fresh interop payload\n';

  before(async () => {
    server = await NotaryServerProcess.start();
    try {
      repo = new NotaryRepo(server.url, GUN);
      const f = repo.writeFile('payload.txt', payload);
      repo.run(['init', '-p', GUN]);
      repo.run(['add', '-p', GUN, 'v1', f]);
      repo.run(['key', 'rotate', GUN, 'snapshot', '-r']);
      const releases = repo.makeDelegateCertificate('releases-delegate');
      const jenkins = repo.makeDelegateCertificate('jenkins-delegate');
      repo.run(['delegation', 'add', '-p', GUN, 'targets/releases', releases.cert, '--all-paths']);
      repo.run(['delegation', 'add', '-p', GUN, 'targets/jenkins', jenkins.cert, '--paths', 'jenkins/']);
      repo.run(['key', 'import', releases.key, '--role', 'targets/releases']);
      repo.run(['key', 'import', jenkins.key, '--role', 'targets/jenkins']);
      repo.run(['add', '-p', GUN, 'r1', f, '--roles', 'targets/releases']);
      repo.run(['add', '-p', GUN, 'jenkins/build-1', f, '--roles', 'targets/jenkins']);

      // Download everything over HTTP, as a client would.
      const root = notaryCodec.parse(await repo.fetchMetadata('root'), 'root');
      for (let v = 1; v <= root.signed.version; v++) files.set(`${v}.root`, await repo.fetchMetadata(`${v}.root`));
      for (const name of ['timestamp', 'snapshot', 'targets', 'targets/releases', 'targets/jenkins']) files.set(name, await repo.fetchMetadata(name));
    } catch (e) {
      await server.stop();
      server = undefined;
      throw e;
    }
  });

  after(async () => {
    await server?.stop();
    repo?.remove();
  });

  const trust = (now = new Date()): TrustedMetadataSet => new TrustedMetadataSet(files.get('1.root')!, { gun: GUN, now, codec: notaryCodec, rules: notaryRootKeyRules });

  function walk(set: TrustedMetadataSet): TrustedMetadataSet {
    for (let v = 2; files.has(`${v}.root`); v++) set.updateRoot(files.get(`${v}.root`)!);
    set.updateTimestamp(files.get('timestamp')!);
    set.updateSnapshot(files.get('snapshot')!);
    set.updateTargets(files.get('targets')!);
    set.updateDelegatedTargets(files.get('targets/releases')!, 'targets/releases', 'targets');
    set.updateDelegatedTargets(files.get('targets/jenkins')!, 'targets/jenkins', 'targets');
    return set;
  }

  it('walks the root rotation made by `key rotate snapshot -r` and verifies every role', () => {
    assert.ok(files.has('2.root'), 'the snapshot key rotation publishes root version 2');
    const set = walk(trust());
    assert.equal(set.rootUpdateNeeded(), false);
    // The server signs snapshot and timestamp with its own Ed25519 keys after the rotation.
    assert.equal(set.snapshot?.signatures[0]?.method, 'eddsa');
    assert.equal(set.getTargets('targets/releases')?.signatures[0]?.method, 'ecdsa');
  });

  it('finds every published target in the role notary put it in, with the payload hash', () => {
    const set = walk(trust());
    const sha256 = createHash('sha256').update(payload).digest();
    for (const [name, role] of [['v1', 'targets'], ['r1', 'targets/releases'], ['jenkins/build-1', 'targets/jenkins']] as const) {
      const found = set.lookupTarget(name);
      assert.equal(found?.role, role, name);
      assert.equal(found.target.length, Buffer.byteLength(payload));
      assert.deepEqual(found.target.hashes.get('sha256'), sha256);
    }
    const listed = repo!.run(['list', GUN]).stdout;
    for (const t of set.listTargets()) assert.match(listed, new RegExp(`^${t.name}\\s.*\\s${t.role}\\s*$`, 'm'));
    assert.equal(set.listTargets().length, 3);
  });

  it('refuses the same files once the timestamp has expired, and any altered byte', () => {
    const ts = notaryCodec.parse(files.get('timestamp')!, 'timestamp');
    assert.throws(() => walk(trust(new Date(ts.signed.expires.ms + 1000))), ExpiredMetadataError);
    const set = trust();
    for (let v = 2; files.has(`${v}.root`); v++) set.updateRoot(files.get(`${v}.root`)!);
    set.updateTimestamp(files.get('timestamp')!);
    const altered = Buffer.from(files.get('snapshot')!);
    const i = altered.length - 3;
    altered[i] = altered[i]! ^ 0x01;
    assert.throws(() => set.updateSnapshot(altered), LengthOrHashMismatchError);
  });
});

// SPDX-License-Identifier: Apache-2.0
// Rotations that must not happen: a result an old client would reject, a role
// left with fewer keys than its threshold, combinations notary refuses. Each
// is refused before anything is sent (checked on the wire) or written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { notaryCodec } from '../../shared/codec/notary.js';
import { UnsafeKeyChangeError, UsageError } from '../../shared/errors.js';
import { roleMetaFromBytes } from '../../shared/tuf/file-meta.js';
import type { Root } from '../../shared/tuf/model.js';
import { CryptoService, envPassphraseRetriever, FileKeyStore } from '../../keys/index.js';
import { MetadataCache } from '../../client/cache.js';
import { createHttpSend, type HttpSend } from '../../client/http-transport.js';
import { nextSnapshot, nextTargets, signMetadata } from '../../client/metadata.js';
import { NotaryRemote } from '../../client/remote.js';
import { checkRotationRequest, rotateKey, type RotationRequest } from '../../client/rotation.js';
import { NOTARY_PASSPHRASES, startNotaryServer, type NotaryServer } from './support/notary.js';
import { keyFiles, signet, snapshotTree, tmp } from './key-helpers.js';
import { startStub, type Stub } from './support/http-stub.js';

const NO_PINNING = { certs: new Map(), ca: new Map(), disableTofu: false };
const retriever = envPassphraseRetriever(NOTARY_PASSPHRASES);

describe('rotation safety', () => {
  let server: NotaryServer;
  const work = tmp('signet-rotsafe-');
  before(async () => {
    server = await startNotaryServer();
  });
  after(async () => {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const s = (dir: string, ...args: string[]): string[] => ['-s', server.url, '-d', dir, ...args];
  const serverRole = async (gun: string, role: string): Promise<Buffer> => Buffer.from(await (await fetch(`${server.url}/v2/${gun}/_trust/tuf/${role}.json`)).arrayBuffer());

  function rotate(dir: string, gun: string, req: RotationRequest, send: HttpSend) {
    return rotateKey(
      {
        gun,
        remote: new NotaryRemote({ serverUrl: server.url, gun, send, access: '*' }),
        cache: new MetadataCache(dir, gun),
        pinning: NO_PINNING,
        now: new Date(),
        keys: new CryptoService([new FileKeyStore(dir, { retriever })]),
        trustDir: dir,
        retriever,
      },
      req,
    );
  }

  function watching(): { send: HttpSend; posts: string[] } {
    const inner = createHttpSend();
    const posts: string[] = [];
    return { posts, send: async (req) => (req.method === 'GET' ? inner(req) : (posts.push(req.url.pathname), inner(req))) };
  }

  it('refuses a root rotation that a client trusting the current root would reject: no request but GETs, no file written', async () => {
    const gun = 'example.com/lost-root-key';
    const owner = path.join(work, 'owner-lost');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    const root = notaryCodec.parse(await serverRole(gun, 'root'), 'root').signed;
    const rootKeyId = (await new FileKeyStore(owner).list()).find((k) => k.role === 'root')!.keyId;
    fs.rmSync(path.join(owner, 'private', `${rootKeyId}.key`));
    const before = snapshotTree(owner);

    const cli = await signet(s(owner, 'key', 'rotate', gun, 'root', '-y'));
    assert.equal(cli.code, 4, cli.stderr);
    assert.match(cli.stderr, /must be signed by 1 of the current root keys and you hold 0 .*Nothing was sent or written/);
    const w = watching();
    await assert.rejects(rotate(owner, gun, { role: 'root', serverManaged: false }, w.send), UnsafeKeyChangeError);
    await assert.rejects(rotate(owner, gun, { role: 'targets', serverManaged: false }, w.send), UnsafeKeyChangeError);
    assert.deepEqual(w.posts, []);
    assert.deepEqual(snapshotTree(owner), before);
    assert.equal(notaryCodec.parse(await serverRole(gun, 'root'), 'root').signed.version, root.version);
  });

  it('refuses to rotate a threshold-2 role to one key; two --key files satisfy it', async () => {
    const gun = 'example.com/threshold-two';
    const owner = path.join(work, 'owner-t2');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    // Make targets 2-of-2: root v2 lists a second targets key, targets re-signed by both.
    const keys = new CryptoService([new FileKeyStore(owner, { retriever })]);
    const cache = new MetadataCache(owner, gun);
    const root = notaryCodec.parse(cache.read('root')!, 'root');
    const targets = notaryCodec.parse(cache.read('targets')!, 'targets');
    const snapshot = notaryCodec.parse(cache.read('snapshot')!, 'snapshot');
    const second = await keys.create({ role: 'targets', gun, algorithm: 'ecdsa' });
    const oldTargets = root.signed.roles.get('targets')!;
    const roles = new Map(root.signed.roles).set('targets', { keyIds: [...oldTargets.keyIds, second.id], threshold: 2 });
    const now = new Date();
    const nextRoot: Root = { ...root.signed, version: 2, keys: new Map(root.signed.keys).set(second.id, second), roles };
    const rootEnv = await signMetadata(nextRoot, await keys.signersFor([root.signed.keys.get(root.signed.roles.get('root')!.keyIds[0]!)!]));
    const targetKeys = [root.signed.keys.get(oldTargets.keyIds[0]!)!, second];
    const targetsEnv = await signMetadata(nextTargets(targets.signed, targets.signed.targets, now), await keys.signersFor(targetKeys), 'targets');
    const meta = new Map(snapshot.signed.meta).set('root', roleMetaFromBytes(rootEnv.raw)).set('targets', roleMetaFromBytes(targetsEnv.raw));
    const snapEnv = await signMetadata(nextSnapshot(snapshot.signed, meta, now), await keys.signersFor([root.signed.keys.get(root.signed.roles.get('snapshot')!.keyIds[0]!)!]));
    await new NotaryRemote({ serverUrl: server.url, gun }).publish(new Map([['root', rootEnv.raw], ['targets', targetsEnv.raw], ['snapshot', snapEnv.raw]]));

    const before = snapshotTree(owner);
    const w = watching();
    await assert.rejects(rotate(owner, gun, { role: 'targets', serverManaged: false }, w.send), (e: unknown) => e instanceof UnsafeKeyChangeError && /needs 2 signatures/.test(e.message));
    assert.deepEqual(w.posts, []);
    assert.deepEqual(snapshotTree(owner), before);
    const cli = await signet(s(owner, 'key', 'rotate', gun, 'targets'));
    assert.equal(cli.code, 4);

    const a = path.join(work, 'ta');
    const b = path.join(work, 'tb');
    for (const f of [a, b]) assert.equal((await signet(['key', 'generate', '--role', 'targets', '--gun', gun, '-o', f])).code, 0);
    const ok = await signet(s(owner, 'key', 'rotate', gun, 'targets', '--key', `${a}-key.pem`, '--key', `${b}-key.pem`));
    assert.equal(ok.code, 0, ok.stderr);
    const published = notaryCodec.parse(await serverRole(gun, 'root'), 'root').signed.roles.get('targets')!;
    assert.equal(published.threshold, 2);
    assert.equal(published.keyIds.length, 2);
    const signedBy = notaryCodec.parse(await serverRole(gun, 'targets'), 'targets').signatures.map((x) => x.keyId).sort();
    assert.deepEqual(signedBy, [...published.keyIds].sort());
  });

  it('an upload the server refuses leaves private/ and the cache as they were; one whose answer is lost keeps the new key and says so', async () => {
    const gun = 'example.com/rotation-upload';
    const owner = path.join(work, 'owner-upload');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    // A key imported earlier and named with --key: its file must stay exactly as it is.
    const earlier = path.join(work, 'earlier');
    assert.equal((await signet(['key', 'generate', '--role', 'targets', '--gun', gun, '-o', earlier])).code, 0);
    const imported = await signet(['-d', owner, 'key', 'import', `${earlier}-key.pem`]);
    assert.equal(imported.code, 0, imported.stderr);
    let mode: 'refuse' | 'drop' = 'refuse';
    // Reads go to the real server; the upload is refused with notary's answer, or its connection dropped.
    const proxy: Stub = await startStub((req, res) => {
      if (req.method === 'POST') {
        if (mode === 'drop') {
          res.socket?.destroy();
          return;
        }
        res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"errors":[{"code":"VERSION","message":"A newer version of metadata is already available.","detail":{}}]}\n');
        return;
      }
      void fetch(server.url + req.url).then(async (r) => {
        res.writeHead(r.status);
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
    try {
      const p = (...args: string[]): string[] => ['-s', proxy.url, '-d', owner, ...args];
      const before = snapshotTree(owner);
      for (const args of [['targets'], ['root', '-y'], ['targets', '--key', `${earlier}-key.pem`]]) {
        const r = await signet(p('key', 'rotate', gun, ...args));
        assert.notEqual(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.deepEqual(snapshotTree(owner), before, `${args.join(' ')}: nothing changed`);
      }
      mode = 'drop';
      const keysBefore = keyFiles(owner);
      const lost = await signet(p('key', 'rotate', gun, 'targets'));
      assert.equal(lost.code, 5, lost.stderr);
      assert.match(lost.stderr, /Whether the server applied the rotation is unknown, so the new key\(s\) [0-9a-f]{12} stay in /);
      assert.equal(keyFiles(owner).length, keysBefore.length + 1);
    } finally {
      await proxy.close();
    }
  });

  it('refuses the combinations notary refuses, before any request', async () => {
    const bad: Array<[RotationRequest, RegExp]> = [
      [{ role: 'timestamp', serverManaged: false }, /always held by the server/],
      [{ role: 'root', serverManaged: true }, /cannot hold the root key/],
      [{ role: 'targets', serverManaged: true }, /cannot hold the targets key/],
      [{ role: 'snapshot', serverManaged: true, keyPems: ['x'] }, /cannot be combined with --key/],
      [{ role: 'targets/releases', serverManaged: false }, /signet delegation/],
    ];
    for (const [req, message] of bad) assert.throws(() => checkRotationRequest(req), (e: unknown) => e instanceof UsageError && message.test(e.message));
    const dir = tmp();
    const r = await signet(['-s', 'http://127.0.0.1:9', '-d', dir, 'key', 'rotate', 'example.com/x', 'timestamp']);
    assert.equal(r.code, 2);
    const noTty = await signet(['-s', 'http://127.0.0.1:9', '-d', dir, 'key', 'rotate', 'example.com/x', 'root']);
    assert.equal(noTty.code, 2);
    assert.match(noTty.stderr, /pass -y/);
    const unpublished = await signet(s(dir, 'key', 'rotate', 'example.com/never-published', 'targets'));
    assert.equal(unpublished.code, 7, 'not found, as for publish');
    assert.match(unpublished.stderr, /publish it first/);
  });
});

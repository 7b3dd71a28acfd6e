// SPDX-License-Identifier: Apache-2.0
// `signet key rotate` against the real notary-server, followed by clients
// that trusted the previous state: signet and the notary binary.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { notaryCodec } from '../../shared/codec/notary.js';
import { canonicalKeyId } from '../../shared/codec/notary-keys.js';
import { CryptoService, envPassphraseRetriever, FileKeyStore } from '../../keys/index.js';
import { MetadataCache } from '../../client/cache.js';
import { createHttpSend, type HttpRequest, type HttpSend } from '../../client/http-transport.js';
import { NotaryRemote } from '../../client/remote.js';
import { rotateKey } from '../../client/rotation.js';
import { fixture } from '../support/paths.js';
import { NOTARY_PASSPHRASES, runNotary, startNotaryServer, type NotaryServer } from './support/notary.js';
import { keyFiles, signet, tmp } from './key-helpers.js';

const NO_PINNING = { certs: new Map(), ca: new Map(), disableTofu: false };

/** Records method, path and multipart filenames of every request. */
function recording(): { send: HttpSend; log: string[] } {
  const inner = createHttpSend();
  const log: string[] = [];
  return {
    log,
    send: async (req: HttpRequest) => {
      const parts = req.body === undefined ? [] : [...req.body.toString('latin1').matchAll(/filename="([^"]+)"/g)].map((m) => m[1]);
      log.push(`${req.method} ${req.url.pathname}${parts.length > 0 ? ` [${parts.join(',')}]` : ''}`);
      return inner(req);
    },
  };
}

describe('key rotate', () => {
  let server: NotaryServer;
  const work = tmp('signet-rotate-');
  const payload = path.join(work, 'payload.txt');
  before(async () => {
    server = await startNotaryServer();
    fs.writeFileSync(payload, 'rotation payload\n');
  });
  after(async () => {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const s = (dir: string, ...args: string[]): string[] => ['-s', server.url, '-d', dir, ...args];
  const serverRoot = async (gun: string): Promise<Buffer> => Buffer.from(await (await fetch(`${server.url}/v2/${gun}/_trust/tuf/root.json`)).arrayBuffer());

  it('snapshot -r: asks the server for a key, uploads root alone, retires the local key; then a delegate can publish', async () => {
    const gun = 'example.com/rotate-snapshot';
    const owner = path.join(work, 'owner-snap');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    const add = runNotary(['delegation', 'add', '-p', gun, 'targets/releases', fixture('delegate-keys', 'releases.crt'), '--all-paths'], { trustDir: owner, server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(add.status, 0, add.stderr);
    const delegate = path.join(work, 'delegate-snap');
    assert.equal((await signet(s(delegate, 'key', 'import', fixture('delegate-keys', 'releases.key'), '--role', 'targets/releases'))).code, 0);
    const early = await signet(s(delegate, 'add', gun, 'release-1', payload, '--roles', 'targets/releases', '-p'));
    assert.equal(early.code, 6, 'the server cannot sign the snapshot yet');
    assert.match(early.stderr, /snapshot -r/);

    const snapshotKeyFile = keyFiles(owner).length;
    const { send, log } = recording();
    const retriever = envPassphraseRetriever(NOTARY_PASSPHRASES);
    const result = await rotateKey(
      {
        gun,
        remote: new NotaryRemote({ serverUrl: server.url, gun, send, access: '*' }),
        cache: new MetadataCache(owner, gun),
        pinning: NO_PINNING,
        now: new Date(),
        keys: new CryptoService([new FileKeyStore(owner, { retriever })]),
        trustDir: owner,
        retriever,
      },
      { role: 'snapshot', serverManaged: true },
    );
    const posts = log.filter((l) => l.startsWith('POST'));
    assert.deepEqual(posts, [`POST /v2/${gun}/_trust/tuf/snapshot.key`, `POST /v2/${gun}/_trust/tuf/ [root]`]);
    assert.deepEqual(result.published, ['root']);
    assert.equal(result.retired.length, 1, 'the old local snapshot key is removed, as notary does');
    assert.equal(keyFiles(owner).length, snapshotKeyFile - 1);
    const root = notaryCodec.parse(await serverRoot(gun), 'root');
    assert.deepEqual(root.signed.roles.get('snapshot')!.keyIds, result.newKeyIds);
    assert.equal(root.signed.keys.get(result.newKeyIds[0]!)!.keyType, 'ed25519');

    const late = await signet(s(delegate, 'publish', gun));
    assert.equal(late.code, 0, late.stderr);
    const listed = runNotary(['list', gun], { trustDir: path.join(work, 'reader-snap'), server: server.url });
    assert.match(listed.stdout, /release-1 .* targets\/releases/);
  });

  it('targets: the new key signs targets, the old one is retired, readers of both tools follow and the owner publishes on', async () => {
    const gun = 'example.com/rotate-targets';
    const owner = path.join(work, 'owner-tgt');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    assert.equal((await signet(s(owner, 'add', gun, 'before', payload, '-p'))).code, 0);
    const reader = path.join(work, 'reader-tgt');
    const nreader = path.join(work, 'nreader-tgt');
    assert.equal((await signet(s(reader, 'list', gun))).code, 0);
    assert.equal(runNotary(['list', gun], { trustDir: nreader, server: server.url }).status, 0);
    const oldRoot = notaryCodec.parse(await serverRoot(gun), 'root').signed;
    const oldTargetsId = oldRoot.roles.get('targets')!.keyIds[0]!;

    const r = await signet(s(owner, 'key', 'rotate', gun, 'targets'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Successfully rotated targets key for repository ${gun}\n`);
    const root = notaryCodec.parse(await serverRoot(gun), 'root').signed;
    const newId = root.roles.get('targets')!.keyIds[0]!;
    assert.notEqual(newId, oldTargetsId);
    assert.equal(root.keys.has(oldTargetsId), false, 'the retired key leaves root');
    assert.equal(root.version, oldRoot.version + 1);
    const targets = notaryCodec.parse(Buffer.from(await (await fetch(`${server.url}/v2/${gun}/_trust/tuf/targets.json`)).arrayBuffer()), 'targets');
    assert.deepEqual(targets.signatures.map((x) => x.keyId), [newId]);
    assert.ok(keyFiles(owner).includes(`${newId}.key`));
    assert.ok(!keyFiles(owner).includes(`${oldTargetsId}.key`));

    assert.equal((await signet(s(owner, 'add', gun, 'after', payload, '-p'))).code, 0);
    const ours = await signet(s(reader, 'list', gun));
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(ours.stdout, /after .*\n.*before/s);
    const theirs = runNotary(['list', gun], { trustDir: nreader, server: server.url });
    assert.equal(theirs.status, 0, theirs.stderr);
    assert.match(theirs.stdout, /after/);
  });

  it('targets: an old key that also signs a delegation is kept, and the delegation stays publishable', async () => {
    const gun = 'example.com/rotate-shared-key';
    const owner = path.join(work, 'owner-shared');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    const root = notaryCodec.parse(await serverRoot(gun), 'root').signed;
    const oldTargets = root.keys.get(root.roles.get('targets')!.keyIds[0]!)!;
    // The same key is delegated targets/shared (its public key as notary writes it: base64 SPKI DER).
    const pub = path.join(work, 'shared-pub.pem');
    fs.writeFileSync(pub, `-----BEGIN PUBLIC KEY-----\n${oldTargets.publicValue.replace(/(.{64})/g, '$1\n')}\n-----END PUBLIC KEY-----\n`);
    const add = await signet(s(owner, 'delegation', 'add', gun, 'targets/shared', pub, '--all-paths', '-p'));
    assert.equal(add.code, 0, add.stderr);
    const r = await signet(s(owner, 'key', 'rotate', gun, 'targets'));
    assert.equal(r.code, 0, r.stderr);
    assert.ok(keyFiles(owner).includes(`${canonicalKeyId(oldTargets)}.key`), 'the delegation key is not retired');
    const signed = await signet(s(owner, 'add', gun, 'via-delegation', payload, '--roles', 'targets/shared', '-p'));
    assert.equal(signed.code, 0, signed.stderr);
  });

  it('root: a new CN=GUN certificate, signed by old and new keys; signet and notary clients that trusted the old root follow, twice', async () => {
    const gun = 'example.com/rotate-root';
    const owner = path.join(work, 'owner-root');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    assert.equal((await signet(s(owner, 'add', gun, 'v1', payload, '-p'))).code, 0);
    const reader = path.join(work, 'reader-root');
    const nreader = path.join(work, 'nreader-root');
    assert.equal((await signet(s(reader, 'list', gun))).code, 0);
    assert.equal(runNotary(['list', gun], { trustDir: nreader, server: server.url }).status, 0);

    let previous = notaryCodec.parse(await serverRoot(gun), 'root');
    for (let round = 0; round < 2; round++) {
      const r = await signet(s(owner, 'key', 'rotate', gun, 'root', '-y'));
      assert.equal(r.code, 0, r.stderr);
      const bytes = await serverRoot(gun);
      const root = notaryCodec.parse(bytes, 'root');
      const [newId] = root.signed.roles.get('root')!.keyIds;
      const oldId = previous.signed.roles.get('root')!.keyIds[0]!;
      assert.notEqual(newId, oldId);
      const cert = new X509Certificate(root.signed.keys.get(newId!)!.certificates[0]!.raw);
      assert.equal(cert.subject, `CN=${gun}`);
      assert.equal(cert.ca, false);
      assert.deepEqual(new Set(root.signatures.map((x) => x.keyId)), new Set([newId, oldId]));
      assert.ok(root.signed.keys.has(oldId), 'notary keeps old root certificates in keys');
      assert.ok(keyFiles(owner).includes(`${canonicalKeyId(root.signed.keys.get(newId!)!)}.key`));

      const ours = await signet(s(reader, 'list', gun));
      assert.equal(ours.code, 0, ours.stderr);
      assert.deepEqual(fs.readFileSync(path.join(reader, 'tuf', ...gun.split('/'), 'metadata', 'root.json')), bytes);
      const theirs = runNotary(['list', gun], { trustDir: nreader, server: server.url });
      assert.equal(theirs.status, 0, theirs.stderr);
      assert.match(theirs.stdout, /v1/);
      assert.deepEqual(fs.readFileSync(path.join(nreader, 'tuf', ...gun.split('/'), 'metadata', 'root.json')), bytes);
      previous = root;
    }
    // the notary binary keeps working as the owner in the same trust dir
    const more = runNotary(['add', '-p', gun, 'by-notary', payload], { trustDir: owner, server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(more.status, 0, more.stderr);

    // --legacy 2: the root keys of the two versions before the current one sign the new root too
    // (v1's and v2's here), as notary's LegacyVersions does, and readers of both tools still follow.
    const rootKeyOf = async (version: number): Promise<string> =>
      notaryCodec.parse(Buffer.from(await (await fetch(`${server.url}/v2/${gun}/_trust/tuf/${version}.root.json`)).arrayBuffer()), 'root').signed.roles.get('root')!.keyIds[0]!;
    const [v1Key, v2Key] = [await rootKeyOf(1), await rootKeyOf(2)];
    const legacy = await signet(s(owner, 'key', 'rotate', gun, 'root', '-y', '--legacy', '2'));
    assert.equal(legacy.code, 0, legacy.stderr);
    const v4 = notaryCodec.parse(await serverRoot(gun), 'root');
    assert.equal(v4.signed.version, 4);
    const signedBy = new Set(v4.signatures.map((x) => x.keyId));
    for (const id of [v1Key, v2Key, previous.signed.roles.get('root')!.keyIds[0]!, v4.signed.roles.get('root')!.keyIds[0]!]) assert.ok(signedBy.has(id), `v4 signed by ${id}`);
    assert.equal((await signet(s(reader, 'list', gun))).code, 0);
    assert.equal(runNotary(['list', gun], { trustDir: nreader, server: server.url }).status, 0);
    // Without --legacy only the current and the new root keys sign.
    assert.equal((await signet(s(owner, 'key', 'rotate', gun, 'root', '-y'))).code, 0);
    assert.equal(notaryCodec.parse(await serverRoot(gun), 'root').signatures.length, 2);
    const bad = await signet(s(owner, 'key', 'rotate', gun, 'root', '-y', '--legacy', 'x'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--legacy must be a whole number/);
  });

  it('root with trust pinning: warns that pinned clients need the new certificate ID (a pinned reader indeed refuses)', async () => {
    const gun = 'example.com/rotate-pinned';
    const owner = path.join(work, 'owner-pinned');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    const pinned = notaryCodec.parse(await serverRoot(gun), 'root').signed.roles.get('root')!.keyIds;
    const config = path.join(work, 'pinned-config.json');
    fs.writeFileSync(config, JSON.stringify({ trust_pinning: { certs: { [gun]: pinned } } }));
    const reader = path.join(work, 'reader-pinned');
    assert.equal((await signet(['-c', config, ...s(reader, 'list', gun)])).code, 0);
    const r = await signet(['-c', config, ...s(owner, 'key', 'rotate', gun, 'root', '-y')]);
    assert.equal(r.code, 0, r.stderr);
    const newIds = notaryCodec.parse(await serverRoot(gun), 'root').signed.roles.get('root')!.keyIds;
    assert.match(r.stderr, new RegExp(`warning: .*add the new root certificate ID\\(s\\) ${newIds[0]} to trust_pinning\\.certs\\["${gun.replace('.', '\\.')}"\\]`));
    assert.equal((await signet(['-c', config, ...s(reader, 'list', gun)])).code, 4);
  });

  it('timestamp -r: the server signs with its new key; readers of both tools holding the old timestamp follow', async () => {
    const gun = 'example.com/rotate-timestamp';
    const owner = path.join(work, 'owner-ts');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    const reader = path.join(work, 'reader-ts');
    const nreader = path.join(work, 'nreader-ts');
    assert.equal((await signet(s(reader, 'list', gun))).code, 0);
    assert.equal(runNotary(['list', gun], { trustDir: nreader, server: server.url }).status, 0);
    const oldId = notaryCodec.parse(await serverRoot(gun), 'root').signed.roles.get('timestamp')!.keyIds[0]!;
    const r = await signet(s(owner, 'key', 'rotate', gun, 'timestamp', '-r'));
    assert.equal(r.code, 0, r.stderr);
    const newId = notaryCodec.parse(await serverRoot(gun), 'root').signed.roles.get('timestamp')!.keyIds[0]!;
    assert.notEqual(newId, oldId);
    const ts = notaryCodec.parse(Buffer.from(await (await fetch(`${server.url}/v2/${gun}/_trust/tuf/timestamp.json`)).arrayBuffer()), 'timestamp');
    assert.deepEqual(ts.signatures.map((x) => x.keyId), [newId]);
    assert.equal((await signet(s(reader, 'list', gun))).code, 0);
    assert.equal(runNotary(['list', gun], { trustDir: nreader, server: server.url }).status, 0);
    assert.equal((await signet(s(owner, 'add', gun, 'after-ts', payload, '-p'))).code, 0);
  });

  it('--key: rotates targets to a key from a file (signet key generate -o)', async () => {
    const gun = 'example.com/rotate-keyfile';
    const owner = path.join(work, 'owner-keyfile');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    const out = path.join(work, 'next-targets');
    const gen = await signet(['key', 'generate', '--role', 'targets', '--gun', gun, '-o', out]);
    const id = /keyID: ([0-9a-f]{64})/.exec(gen.stdout)![1]!;
    const r = await signet(s(owner, 'key', 'rotate', gun, 'targets', '--key', `${out}-key.pem`));
    assert.equal(r.code, 0, r.stderr);
    const root = notaryCodec.parse(await serverRoot(gun), 'root').signed;
    assert.deepEqual(root.roles.get('targets')!.keyIds, [id]);
    assert.ok(keyFiles(owner).includes(`${id}.key`));
  });
});

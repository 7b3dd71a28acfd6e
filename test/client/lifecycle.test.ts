// SPDX-License-Identifier: Apache-2.0
// Key lifecycle checks: a new root must verify for clients trusting the old
// one (unit, and through publish.ts with a staged root key change), expiry
// warnings for roles and signer certificates, and a root near expiry
// re-signed on publish so that old clients follow.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { notaryCodec } from '../../shared/codec/notary.js';
import { publicKeyFromCertificatePem } from '../../shared/codec/notary-keys.js';
import { createSelfSignedCertificate, p1363ToDer } from '../../shared/crypto/index.js';
import { UnsafeKeyChangeError } from '../../shared/errors.js';
import { roleMetaFromBytes } from '../../shared/tuf/file-meta.js';
import { expiresAfter } from '../../shared/time.js';
import type { Envelope, PublicKey, Root, Signer, Targets } from '../../shared/tuf/model.js';
import { CryptoService, envPassphraseRetriever, FileKeyStore, MemoryKeyStore } from '../../keys/index.js';
import { MetadataCache } from '../../client/cache.js';
import { FileChangelist } from '../../client/changelist.js';
import { rootRoleChange } from '../../client/changes.js';
import { expiryWarnings, nearExpiryCutoff, publishWarnings, removalBlockers, signRootSuccessor } from '../../client/lifecycle.js';
import { newRoot, newTargets, nextSnapshot, signMetadata } from '../../client/metadata.js';
import { NotaryRemote } from '../../client/remote.js';
import { NOTARY_PASSPHRASES, runNotary, startNotaryServer, type NotaryServer } from './support/notary.js';
import { signet, snapshotTree, tmp } from './key-helpers.js';

const DAY = 86_400_000;
const GUN = 'example.com/lifecycle';

async function rootCert(store: MemoryKeyStore, gun: string, notBefore: Date, notAfter?: Date): Promise<{ cert: PublicKey; signer: Signer }> {
  const plain = await store.generate({ role: 'root', algorithm: 'ecdsa' });
  const raw = await store.getSigner(plain.id);
  const pem = await createSelfSignedCertificate({ commonName: gun, publicKeySpki: plain.spki!, notBefore, ...(notAfter === undefined ? {} : { notAfter }), sign: async (tbs) => p1363ToDer((await raw.sign(tbs)).sig) });
  const cert = publicKeyFromCertificatePem(pem);
  return { cert, signer: await store.getSigner(plain.id, cert) };
}

describe('signRootSuccessor', () => {
  it('accepts a root signed by the old and the new root keys, refuses one signed by the new key only', async () => {
    const now = new Date();
    const store = new MemoryKeyStore();
    const a = await rootCert(store, GUN, now);
    const b = await rootCert(store, GUN, now);
    const other = await store.generate({ role: 'targets', gun: GUN, algorithm: 'ecdsa' });
    const v1Model = newRoot({ root: [a.cert], targets: other, snapshot: other, timestamp: other }, now);
    const v1 = await signMetadata(v1Model, [a.signer]);
    const v2Model: Root = { ...v1Model, version: 2, keys: new Map(v1Model.keys).set(b.cert.id, b.cert), roles: new Map(v1Model.roles).set('root', { keyIds: [b.cert.id], threshold: 1 }) };
    const ok = await signRootSuccessor(GUN, v1, v2Model, [a.signer, b.signer], now);
    assert.equal(ok.signed.version, 2);
    await assert.rejects(signRootSuccessor(GUN, v1, v2Model, [b.signer], now), (e: unknown) => e instanceof UnsafeKeyChangeError && /trusts version 1 would reject it/.test(e.message));
    await assert.rejects(signRootSuccessor(GUN, v1, { ...v2Model, version: 3 }, [a.signer, b.signer], now), UnsafeKeyChangeError);
  });
});

describe('expiryWarnings', () => {
  it('names roles and certificates expiring within six months, and what to run', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const store = new MemoryKeyStore();
    const root = await rootCert(store, GUN, new Date(now.getTime() - 3000 * DAY), new Date(now.getTime() + 60 * DAY));
    const k = await store.generate({ role: 'targets', gun: GUN, algorithm: 'ecdsa' });
    const rootEnv = await signMetadata({ ...newRoot({ root: [root.cert], targets: k, snapshot: k, timestamp: k }, now), expires: expiresAfter(now, 30 * 86_400) }, [root.signer]);
    const delegateCert = (await rootCert(store, 'releases-signer', new Date(now.getTime() - DAY), new Date(now.getTime() + 100 * DAY))).cert;
    const targetsModel: Targets = {
      ...newTargets(now),
      expires: expiresAfter(now, 400 * 86_400),
      delegations: { keys: new Map([[delegateCert.id, delegateCert]]), roles: [{ name: 'targets/releases', keyIds: [delegateCert.id], threshold: 1, paths: [''], terminating: false }] },
    };
    const signer = await store.getSigner(k.id);
    const targets = await signMetadata(targetsModel, [signer], 'targets');
    const releases = await signMetadata({ ...newTargets(now), expires: expiresAfter(now, 170 * 86_400) }, [signer], 'targets/releases');
    const snapshot = await signMetadata({ ...nextSnapshot(undefined, new Map([['root', roleMetaFromBytes(rootEnv.raw)], ['targets', roleMetaFromBytes(targets.raw)]]), now), expires: expiresAfter(now, 1000 * 86_400) }, [signer]);
    const roles = new Map<string, Envelope<Targets>>([['targets', targets], ['targets/releases', releases]]);
    const warnings = expiryWarnings({ gun: GUN, root: rootEnv, snapshot, targets: roles }, now);
    assert.equal(warnings.length, 4, warnings.join('\n'));
    assert.match(warnings[0]!, /^root metadata of example\.com\/lifecycle expires at .* \(in 30 days\); a publish by the root key holder re-signs it/);
    assert.match(warnings[1]!, /^targets\/releases metadata .* \(in 170 days\); a holder of a targets\/releases key must publish/);
    assert.match(warnings[2]!, /^root certificate [0-9a-f]{64} \(CN=example\.com\/lifecycle\) .* \(in 60 days\); .*signet key rotate example\.com\/lifecycle root/);
    assert.match(warnings[3]!, /^certificate [0-9a-f]{64} \(CN=releases-signer\) of signer role targets\/releases .* \(in 100 days\)/);
    const later = new Date(now.getTime() + 90 * DAY);
    assert.match(expiryWarnings({ gun: GUN, root: rootEnv }, later).join('\n'), /expired at .* \(60 days ago\).*\n.*expired at .*\(30 days ago\)/);
    assert.deepEqual(expiryWarnings({ gun: GUN, root: rootEnv }, new Date(now.getTime() - 365 * DAY)), []);
    assert.equal(nearExpiryCutoff(new Date('2030-08-31T00:00:00Z')).toISOString(), '2031-03-03T00:00:00.000Z', 'Go AddDate normalises like JS');

    // After a publish that re-signed targets (the owner's `delegation add -p`, say): no warning about
    // targets' own expiry, but its delegates' certificates are still named, to the one who can fix them;
    // and none about the snapshot, which every accepted publish replaces.
    const shortLived = await signMetadata({ ...targetsModel, expires: expiresAfter(now, 20 * 86_400) }, [signer], 'targets');
    const after = publishWarnings(GUN, { root: rootEnv, targets: new Map([['targets', targets]]) }, new Map([['targets', shortLived.raw]]), new Map([['targets', shortLived]]), now);
    assert.match(after.join('\n'), /certificate [0-9a-f]{64} \(CN=releases-signer\) of signer role targets\/releases/);
    assert.doesNotMatch(after.join('\n'), /^targets metadata|snapshot metadata/m);
  });
});

describe('lifecycle through publish and the notary server', () => {
  let server: NotaryServer;
  const work = tmp('signet-lifecycle-');
  before(async () => {
    server = await startNotaryServer();
  });
  after(async () => {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const s = (dir: string, ...args: string[]): string[] => ['-s', server.url, '-d', dir, ...args];
  const serverRoot = async (gun: string): Promise<Envelope<Root>> => notaryCodec.parse(Buffer.from(await (await fetch(`${server.url}/v2/${gun}/_trust/tuf/root.json`)).arrayBuffer()), 'root');
  const retriever = envPassphraseRetriever(NOTARY_PASSPHRASES);

  /** `init -p` a repository in `owner`, then publish root v2 expiring `seconds` from now (with a matching snapshot). */
  async function rootExpiringIn(owner: string, gun: string, seconds: number): Promise<Envelope<Root>> {
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    const keys = new CryptoService([new FileKeyStore(owner, { retriever })]);
    const cache = new MetadataCache(owner, gun);
    const v1 = notaryCodec.parse(cache.read('root')!, 'root');
    const snap = notaryCodec.parse(cache.read('snapshot')!, 'snapshot');
    const now = new Date();
    const pick = (role: string): PublicKey[] => v1.signed.roles.get(role)!.keyIds.map((id) => v1.signed.keys.get(id)!);
    const v2 = await signMetadata({ ...v1.signed, version: 2, expires: expiresAfter(now, seconds) }, await keys.signersFor(pick('root')));
    const snap2 = await signMetadata(nextSnapshot(snap.signed, new Map(snap.signed.meta).set('root', roleMetaFromBytes(v2.raw)), now), await keys.signersFor(pick('snapshot')));
    await new NotaryRemote({ serverUrl: server.url, gun }).publish(new Map([['root', v2.raw], ['snapshot', snap2.raw]]));
    return v2;
  }

  it('refuses to publish a staged root key change that old clients would reject (a plain key as root key)', async () => {
    const gun = 'example.com/lifecycle-bad-root';
    const owner = path.join(work, 'owner-bad');
    assert.equal((await signet(s(owner, 'init', gun, '-p'))).code, 0);
    const plain = await new FileKeyStore(owner, { retriever }).generate({ role: 'root', algorithm: 'ecdsa' });
    FileChangelist.forGun(owner, gun).add(rootRoleChange('root', [plain]));
    const before = snapshotTree(path.join(owner, 'tuf'));
    const r = await signet(s(owner, 'publish', gun));
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /refusing to publish root version 2 .* would reject it .*not a certificate/);
    assert.deepEqual(snapshotTree(path.join(owner, 'tuf')), before, 'cache and changelist untouched');
    assert.equal((await serverRoot(gun)).signed.version, 1);
  });

  it('re-signs a root that expires within six months on publish (root key holder); others get a warning; old clients follow', async () => {
    const gun = 'example.com/lifecycle-expiring';
    const owner = path.join(work, 'owner-exp');
    const payload = path.join(work, 'payload.txt');
    fs.writeFileSync(payload, 'lifecycle\n');
    await rootExpiringIn(owner, gun, 90 * 86_400);
    const reader = path.join(work, 'reader-exp');
    const nreader = path.join(work, 'nreader-exp');
    assert.equal((await signet(s(reader, 'list', gun))).code, 0);
    assert.equal(runNotary(['list', gun], { trustDir: nreader, server: server.url }).status, 0);

    // A publisher without the root key: publishes, root stays, a warning says who must act.
    const noRoot = path.join(work, 'no-root-exp');
    fs.cpSync(owner, noRoot, { recursive: true });
    const rootKeyId = (await new FileKeyStore(noRoot).list()).find((k) => k.role === 'root')!.keyId;
    fs.rmSync(path.join(noRoot, 'private', `${rootKeyId}.key`));
    const delegateish = await signet(s(noRoot, 'add', gun, 'without-root', payload, '-p'));
    assert.equal(delegateish.code, 0, delegateish.stderr);
    assert.match(delegateish.stderr, /warning: root metadata of example\.com\/lifecycle-expiring expires at .* \(in (89|90) days\)/);
    assert.equal((await serverRoot(gun)).signed.version, 2);

    // The root key holder: root v3, ten years, no warning.
    const r = await signet(s(owner, 'add', gun, 'with-root', payload, '-p'));
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /root metadata/);
    const v3 = await serverRoot(gun);
    assert.equal(v3.signed.version, 3);
    assert.ok(v3.signed.expires.ms > Date.now() + 9 * 365 * DAY);
    const ours = await signet(s(reader, 'list', gun));
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(ours.stdout, /with-root/);
    const theirs = runNotary(['list', gun], { trustDir: nreader, server: server.url });
    assert.equal(theirs.status, 0, theirs.stderr);
    assert.match(theirs.stdout, /with-root/);
  });

  it('the root key holder re-signs a root exactly when the six-month warning would name it (calendar months, as notary)', async () => {
    const gun = 'example.com/lifecycle-window';
    const owner = path.join(work, 'owner-window');
    const payload = path.join(work, 'payload-window.txt');
    fs.writeFileSync(payload, 'window\n');
    const now = new Date();
    // Between 182 days and six calendar months from now (they differ by a day or more on most dates).
    const days182 = now.getTime() + 182 * DAY;
    const sixMonths = nearExpiryCutoff(now).getTime();
    const expiresAt = Math.round((days182 + sixMonths) / 2 / 1000) * 1000;
    const v2 = await rootExpiringIn(owner, gun, (expiresAt - now.getTime()) / 1000);
    const warned = expiryWarnings({ gun, root: v2 }, now).some((w) => w.startsWith('root metadata'));
    const r = await signet(s(owner, 'add', gun, 'w', payload, '-p'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await serverRoot(gun)).signed.version === 3, warned, `warned: ${warned}; re-signed iff warned (expires ${new Date(expiresAt).toISOString()})`);
  });

  it('removalBlockers: a root key is needed by every cached repository it signs', async () => {
    const owner = path.join(work, 'owner-two');
    assert.equal((await signet(s(owner, 'init', 'example.com/two-a', '-p'))).code, 0);
    assert.equal((await signet(s(owner, 'init', 'example.com/two-b', '-p'))).code, 0);
    const listed = await new FileKeyStore(owner).list();
    const rootId = listed.find((k) => k.role === 'root')!.keyId;
    const blockers = removalBlockers(owner, rootId, new Set(listed.map((k) => k.keyId)));
    assert.deepEqual(blockers.map((b) => `${b.gun}:${b.role}`), ['example.com/two-a:root', 'example.com/two-b:root']);
    assert.deepEqual(removalBlockers(owner, 'f'.repeat(64), new Set()), []);
  });
});

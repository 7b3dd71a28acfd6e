// SPDX-License-Identifier: Apache-2.0
// applyUpdate, steps 5 and 6a (notary-wire.md §7): targets and delegations
// verified by their delegators, Signet's delegated-path check, and
// client-signed snapshots checked against every role loaded.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeserializationError } from '../../../shared/errors.js';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { formatExpires, parseExpires } from '../../../shared/time.js';
import { roleMetaFromBytes } from '../../../shared/tuf/file-meta.js';
import type { FileMeta, PublicKey } from '../../../shared/tuf/model.js';
import { FIXTURE_NOW } from '../../support/paths.js';
import { VersionConflictError } from '../../../server/storage/meta-store.js';
import { RepositorySimulator, type SimKey } from '../../support/repository-simulator.js';
import { Clock, DAY_MS, Publisher, assertCode, assertRefused, clientRefresh, openEmbeddedStore, part, testService, type TestStore } from './support.js';

describe('applyUpdate: targets, delegations and client snapshots', () => {
  let ts: TestStore;
  const clock = new Clock(FIXTURE_NOW);
  let service: ReturnType<typeof testService>;
  before(async () => {
    ts = await openEmbeddedStore('targets');
    service = testService(ts.store, clock);
  });
  after(() => ts.close());

  const delegateKey = (): Promise<SimKey> =>
    RepositorySimulator.newCertificateKey('delegate', { notBefore: new Date(FIXTURE_NOW.getTime() - DAY_MS), notAfter: new Date(FIXTURE_NOW.getTime() + 365 * DAY_MS) });

  /** A repository whose server signs snapshots, with `targets` delegating to targets/releases (paths `releases/`). */
  async function withDelegation(): Promise<{ p: Publisher; releases: SimKey }> {
    const p = await Publisher.create(service, clock, { serverSnapshot: true });
    const releases = await delegateKey();
    const targets = await p.targets('targets', { version: 1, delegations: [{ name: 'targets/releases', keys: [releases], paths: ['releases/'] }] });
    await service.applyUpdate(p.gun, [part('root', await p.root()), part('targets', targets)]);
    return { p, releases };
  }

  describe('targets', () => {
    it('refuses targets not signed by root\'s targets key: ErrBadTargets', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      const wrong = RepositorySimulator.newKey('ecdsa');
      await assertRefused(
        service.applyUpdate(p.gun, [part('root', await p.root()), part('targets', await p.targets('targets', { version: 1, signers: [wrong] }))]),
        'ErrBadTargets',
        'THRESHOLD_NOT_MET',
      );
    });

    it('refuses a signature altered in transit', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      const t = JSON.parse((await p.targets('targets', { version: 1 })).toString('utf8')) as { signatures: { sig: string }[] };
      const sig = Buffer.from(t.signatures[0]!.sig, 'base64');
      sig[10]! ^= 1;
      t.signatures[0]!.sig = sig.toString('base64');
      await assertRefused(service.applyUpdate(p.gun, [part('root', await p.root()), part('targets', Buffer.from(JSON.stringify(t)))]), 'ErrBadTargets', 'THRESHOLD_NOT_MET');
    });

    it('counts one key once toward a threshold: a second signature by the same key is refused outright', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      const second = RepositorySimulator.newKey('ecdsa');
      const root = await p.root({ targets: { keyIds: [p.targetsKey.publicKey.id, second.publicKey.id], threshold: 2, keys: [p.targetsKey.publicKey, second.publicKey] } });
      const twiceByOne = await p.targets('targets', { version: 1, signers: [p.targetsKey, p.targetsKey] });
      // The codec refuses duplicate signature key IDs at parse time (notary would count them once).
      await assertCode(service.applyUpdate(p.gun, [part('root', root), part('targets', twiceByOne)]), DeserializationError, 'INVALID_FIELD');
      await assertRefused(service.applyUpdate(p.gun, [part('root', root), part('targets', await p.targets('targets', { version: 1, signers: [p.targetsKey] }))]), 'ErrBadTargets', 'THRESHOLD_NOT_MET', /1\/2/);
      await service.applyUpdate(p.gun, [part('root', root), part('targets', await p.targets('targets', { version: 1, signers: [p.targetsKey, second] }))]);
    });

    it('counts one key listed under two key IDs (plain and certificate) once', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      const asCert = await RepositorySimulator.certificateFor(p.targetsKey, 'targets', { notBefore: new Date(FIXTURE_NOW.getTime() - DAY_MS), notAfter: new Date(FIXTURE_NOW.getTime() + 365 * DAY_MS) });
      const keys: PublicKey[] = [p.targetsKey.publicKey, asCert.publicKey];
      const root = await p.root({ targets: { keyIds: keys.map((k) => k.id), threshold: 2, keys } });
      await assertRefused(
        service.applyUpdate(p.gun, [part('root', root), part('targets', await p.targets('targets', { version: 1, signers: [p.targetsKey, asCert] }))]),
        'ErrBadTargets',
        'THRESHOLD_NOT_MET',
      );
    });

    it('refuses expired targets', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      await assertRefused(
        service.applyUpdate(p.gun, [part('root', await p.root()), part('targets', await p.targets('targets', { version: 1, expires: p.expiresIn(-1) }))]),
        'ErrBadTargets',
        'EXPIRED',
      );
    });

    it('refuses the first upload without targets when the server must sign the snapshot: ErrValidation', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      await assertRefused(service.applyUpdate(p.gun, [part('root', await p.root())]), 'ErrValidation', 'MISSING_META', /targets must be loaded first/);
    });
  });

  describe('delegations', () => {
    it('accepts a delegate publishing its role alone; the snapshot lists it and a client verifies the chain', async () => {
      const { p, releases } = await withDelegation();
      const r = await p.targets('targets/releases', { version: 1, targets: { 'releases/1.0': 'one' }, signers: [releases] });
      await service.applyUpdate(p.gun, [part('targets/releases', r)]);
      const set = await clientRefresh(service, p.gun, clock.now(), [['targets/releases', 'targets']]);
      assert.deepEqual([...set.getTargets('targets/releases')!.signed.targets.keys()], ['releases/1.0']);
      assert.equal(set.snapshot!.signed.version, 2);
    });

    it('refuses a delegation not signed by the parent\'s delegation keys: ErrBadTargets', async () => {
      const { p } = await withDelegation();
      const other = await delegateKey();
      await assertRefused(
        service.applyUpdate(p.gun, [part('targets/releases', await p.targets('targets/releases', { version: 1, signers: [other] }))]),
        'ErrBadTargets',
        'THRESHOLD_NOT_MET',
      );
    });

    it('refuses a delegation its parent does not list', async () => {
      const { p, releases } = await withDelegation();
      await assertRefused(
        service.applyUpdate(p.gun, [part('targets/nope', await p.targets('targets/nope', { version: 1, signers: [releases] }))]),
        'ErrBadTargets',
        'BAD_DELEGATION',
        /delegation does not exist in targets/,
      );
    });

    it('refuses a delegation whose parent has no metadata', async () => {
      const { p, releases } = await withDelegation();
      await assertRefused(
        service.applyUpdate(p.gun, [part('targets/releases/rc', await p.targets('targets/releases/rc', { version: 1, signers: [releases] }))]),
        'ErrBadTargets',
        'BAD_DELEGATION',
        /targets\/releases has no metadata/,
      );
    });

    it('refuses targets outside the delegated paths (notary accepts them)', async () => {
      const { p, releases } = await withDelegation();
      const outside = await p.targets('targets/releases', { version: 1, targets: { 'releases/ok': 'a', 'other/evil': 'b' }, signers: [releases] });
      const e = await assertRefused(service.applyUpdate(p.gun, [part('targets/releases', outside)]), 'ErrBadTargets', 'PATH_NOT_DELEGATED', /"other\/evil"/);
      assert.equal(e.role, 'targets/releases');
    });

    it('refuses a delegation nested deeper than clients search (notary stores it)', async () => {
      const { p, releases } = await withDelegation();
      const k = await delegateKey();
      // targets/releases (level 1) down to level 16, each delegating to the next with one key; level 16 names level 17.
      const names = ['targets/releases'];
      while (names.length < 16) names.push(`${names.at(-1)!}/n`);
      const parts = [];
      for (const [i, name] of names.entries()) {
        const child = { name: `${name}/n`, keys: [k], paths: [''] };
        parts.push(part(name, await p.targets(name, { version: 1, delegations: [child], signers: [i === 0 ? releases : k] })));
      }
      await assertRefused(service.applyUpdate(p.gun, parts), 'ErrBadTargets', 'BAD_DELEGATION', /17 levels deep; clients search at most 16 levels/);
      // one level less is accepted
      await service.applyUpdate(p.gun, parts.slice(0, 15));
    });

    it('restricts a nested delegation to the paths its parent may use', async () => {
      const { p, releases } = await withDelegation();
      const rc = await delegateKey();
      // targets/releases delegates `releases/rc/` and `elsewhere/` to its child; only the first is within its own `releases/`.
      const parent = await p.targets('targets/releases', { version: 1, delegations: [{ name: 'targets/releases/rc', keys: [rc], paths: ['releases/rc/', 'elsewhere/'] }], signers: [releases] });
      const ok = await p.targets('targets/releases/rc', { version: 1, targets: { 'releases/rc/1': 'x' }, signers: [rc] });
      await service.applyUpdate(p.gun, [part('targets/releases/rc', ok), part('targets/releases', parent)]);
      const widened = await p.targets('targets/releases/rc', { version: 2, targets: { 'elsewhere/1': 'x' }, signers: [rc] });
      await assertRefused(service.applyUpdate(p.gun, [part('targets/releases/rc', widened)]), 'ErrBadTargets', 'PATH_NOT_DELEGATED');
    });

    it('verifies stored ancestors under the new root: a delegation under stale targets is refused', async () => {
      const { p, releases } = await withDelegation();
      // Rotate the targets key in root without re-signing targets: the stored targets no longer verifies.
      const newTargets = RepositorySimulator.newKey('ecdsa');
      const root2 = await p.root({ version: 2, targets: { keyIds: [newTargets.publicKey.id], threshold: 1, keys: [newTargets.publicKey] } });
      await assertRefused(
        service.applyUpdate(p.gun, [part('root', root2), part('targets/releases', await p.targets('targets/releases', { version: 1, signers: [releases] }))]),
        'ErrBadTargets',
        'THRESHOLD_NOT_MET',
        /stored targets no longer verifies/,
      );
    });
  });

  describe('client-signed snapshot (step 6a)', () => {
    async function clientSnapshotRepo(): Promise<{ p: Publisher; root: Buffer; targets: Buffer }> {
      const p = await Publisher.create(service, clock);
      const root = await p.root();
      const targets = await p.targets('targets', { version: 1 });
      await service.applyUpdate(p.gun, [part('root', root), part('targets', targets), part('snapshot', await p.snapshot(1, { root, targets }))]);
      return { p, root, targets };
    }

    it('refuses a snapshot whose meta does not match an uploaded role: ErrBadSnapshot', async () => {
      const { p, root, targets } = await clientSnapshotRepo();
      const t2 = await p.targets('targets', { version: 2, targets: { a: 'a' } });
      await assertRefused(service.applyUpdate(p.gun, [part('targets', t2), part('snapshot', await p.snapshot(2, { root, targets }))]), 'ErrBadSnapshot', 'LENGTH_MISMATCH');
      await service.applyUpdate(p.gun, [part('targets', t2), part('snapshot', await p.snapshot(2, { root, targets: t2 }))]);
    });

    it('refuses a snapshot that omits a loaded role', async () => {
      const { p, root } = await clientSnapshotRepo();
      const key = await delegateKey();
      const t3 = await p.targets('targets', { version: 2, delegations: [{ name: 'targets/a', keys: [key] }] });
      const a3 = await p.targets('targets/a', { version: 1, signers: [key] });
      await assertRefused(service.applyUpdate(p.gun, [part('targets', t3), part('targets/a', a3), part('snapshot', await p.snapshot(2, { root, targets: t3 }))]), 'ErrBadSnapshot', 'MISSING_META', /targets\/a/);
    });

    it('checks entries for stored roles against the stored bytes, and refuses entries for roles that do not exist', async () => {
      const { p, root, targets } = await clientSnapshotRepo();
      await assertRefused(
        service.applyUpdate(p.gun, [part('snapshot', await p.snapshot(2, { root, targets: Buffer.concat([targets, Buffer.from(' ')]) }))]),
        'ErrBadSnapshot',
        'HASH_MISMATCH',
      );
      await assertRefused(service.applyUpdate(p.gun, [part('snapshot', await p.snapshot(2, { root, targets, 'targets/ghost': targets }))]), 'ErrBadSnapshot', 'MISSING_META', /ghost/);
      await service.applyUpdate(p.gun, [part('snapshot', await p.snapshot(2, { root, targets }))]);
    });

    it('refuses a snapshot whose meta carries custom data the server could not write into a snapshot of its own', async () => {
      const { p, root, targets } = await clientSnapshotRepo();
      // Signed over canonical bytes (control characters raw), as a non-Go client could; notary's writer cannot make this file.
      const meta = new Map<string, FileMeta>([['root', roleMetaFromBytes(root)], ['targets', { ...roleMetaFromBytes(targets), custom: { note: 'a\u0001b' } } as FileMeta]]);
      const tree = notaryCodec.toSignedTree({ type: 'snapshot', version: 2, expires: parseExpires(formatExpires(new Date(FIXTURE_NOW.getTime() + 30 * DAY_MS)), 'expires'), meta });
      const sig = await p.snapshotKey.signer.sign(notaryCodec.signedBytes(tree));
      const file = Buffer.from(JSON.stringify({ signed: tree, signatures: [{ keyid: sig.keyId, method: sig.method, sig: sig.sig.toString('base64') }] }));
      await assertRefused(service.applyUpdate(p.gun, [part('snapshot', file)]), 'ErrBadSnapshot', 'CANONICAL_JSON', /control character/);
    });

    it('refuses an expired client snapshot', async () => {
      const { p, root, targets } = await clientSnapshotRepo();
      const expired = await p.snapshot(2, { root, targets }, [p.snapshotKey], new Date(clock.now().getTime() - DAY_MS));
      await assertRefused(service.applyUpdate(p.gun, [part('snapshot', expired)]), 'ErrBadSnapshot', 'EXPIRED');
      assert.equal((await service.getCurrent(p.gun, 'snapshot'))!.version, 1);
    });

    it('refuses a client snapshot older than the stored one: the store keeps versions rising (VERSION to the client)', async () => {
      const { p, root, targets } = await clientSnapshotRepo();
      await service.applyUpdate(p.gun, [part('snapshot', await p.snapshot(3, { root, targets }))]);
      await assert.rejects(service.applyUpdate(p.gun, [part('snapshot', await p.snapshot(2, { root, targets }))]), VersionConflictError);
      assert.equal((await service.getCurrent(p.gun, 'snapshot'))!.version, 3);
    });

    it('refuses a snapshot signed by a key root does not list for snapshot', async () => {
      const { p, root, targets } = await clientSnapshotRepo();
      await assertRefused(service.applyUpdate(p.gun, [part('snapshot', await p.snapshot(2, { root, targets }, [p.targetsKey]))]), 'ErrBadSnapshot', 'THRESHOLD_NOT_MET');
    });
  });
});

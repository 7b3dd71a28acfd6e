// SPDX-License-Identifier: Apache-2.0
// The MetaStore contract, run against embedded PGlite and PostgreSQL.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { StateError, StorageError } from '../../../shared/errors.js';
import { VersionConflictError, type MetaUpdate } from '../../../server/storage/meta-store.js';
import { openStore } from '../../../server/storage/open-store.js';
import type { SqlMetaStore } from '../../../server/storage/sql-meta-store.js';
import { allBackends, itOn, uniqueGun } from './backends.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const file = (role: string, version: number, extra = ''): MetaUpdate => ({ role, version, data: Buffer.from(`{"signed":{"_type":"${role}","version":${version}}${extra}}`) });
const publish = (version: number): MetaUpdate[] => ['root', 'targets', 'snapshot', 'timestamp'].map((r) => file(r, version));

for (const backend of await allBackends('contract')) {
  describe(`MetaStore contract (${backend.name})`, () => {
    const it = itOn(backend);
    let store: SqlMetaStore;
    before(async () => {
      if (backend.skip === undefined) store = await openStore(backend.options);
    });
    after(async () => {
      await store?.close();
      await backend.cleanup();
    });

    it('returns the stored bytes verbatim by current, version and checksum', async () => {
      const gun = uniqueGun();
      const data = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x0a, 0x7d]); // not UTF-8, has NUL
      await store.updateMany(gun, [{ role: 'targets', version: 3, data }]);
      const byCurrent = await store.getCurrent(gun, 'targets');
      const byVersion = await store.getByVersion(gun, 'targets', 3);
      const byChecksum = await store.getByChecksum(gun, 'targets', sha(data));
      for (const f of [byCurrent, byVersion, byChecksum]) {
        assert.ok(f);
        assert.deepEqual(f.data, data);
        assert.equal(f.sha256, sha(data));
        assert.equal(f.version, 3);
        assert.equal(f.gun, gun);
        assert.equal(f.role, 'targets');
        assert.ok(f.createdAt instanceof Date && Math.abs(f.createdAt.getTime() - Date.now()) < 60_000);
      }
    });

    it('finds nothing for unknown GUN, role, version or checksum', async () => {
      const gun = uniqueGun();
      const f = file('targets', 2);
      await store.updateMany(gun, [f]);
      assert.equal(await store.getCurrent(uniqueGun(), 'targets'), null);
      assert.equal(await store.getCurrent(gun, 'root'), null);
      assert.equal(await store.getByVersion(gun, 'targets', 1), null);
      assert.equal(await store.getByChecksum(gun, 'root', sha(f.data)), null, 'the role must match, unlike the Notary memory store');
      assert.equal(await store.getByChecksum(gun, 'targets', sha(f.data).toUpperCase()), null, 'lower-case hex only, as Notary');
      assert.equal(await store.getByChecksum(gun, 'targets', '00'.repeat(32)), null);
      assert.equal(await store.getCurrent('bad\u0000gun', 'targets'), null);
    });

    it('current is the highest version; every version stays readable', async () => {
      const gun = uniqueGun();
      for (const v of [1, 2, 7]) await store.updateMany(gun, [file('targets', v)]);
      assert.equal((await store.getCurrent(gun, 'targets'))?.version, 7);
      assert.equal((await store.getByVersion(gun, 'targets', 2))?.version, 2);
      assert.deepEqual((await store.getByChecksum(gun, 'targets', sha(file('targets', 1).data)))?.data, file('targets', 1).data);
    });

    it('rejects a version that is not newer than the stored one', async () => {
      const gun = uniqueGun();
      await store.updateMany(gun, [file('root', 1), file('targets', 5)]);
      await assert.rejects(store.updateMany(gun, [file('targets', 5, ' ')]), (err: unknown) => {
        assert.ok(err instanceof VersionConflictError);
        assert.equal(err.code, 'VERSION_CONFLICT');
        assert.equal(err.role, 'targets');
        assert.equal(err.version, 5);
        assert.match(err.message, /targets version 5 is not newer.*publish again/);
        return true;
      });
      await assert.rejects(store.updateMany(gun, [file('targets', 4)]), VersionConflictError);
      await store.updateMany(gun, [file('targets', 100)]); // any increase is fine
      await store.updateMany(gun, [file('root', 2)]); // roles are independent
      assert.equal((await store.getCurrent(gun, 'targets'))?.version, 100);
    });

    it('a conflict in one role stores nothing of the update', async () => {
      const gun = uniqueGun();
      await store.updateMany(gun, publish(1));
      const before = await store.getChanges({ gun, changeId: 0, records: 10 });
      await assert.rejects(store.updateMany(gun, [file('root', 2), file('targets', 2), file('snapshot', 1), file('timestamp', 2)]), VersionConflictError);
      for (const role of ['root', 'targets', 'snapshot', 'timestamp']) assert.equal((await store.getCurrent(gun, role))?.version, 1, role);
      assert.deepEqual(await store.getChanges({ gun, changeId: 0, records: 10 }), before);
    });

    it('stores an update only onto the root it was validated against (baseRoot)', async () => {
      const gun = uniqueGun();
      await store.updateMany(gun, publish(1), { baseRoot: null });
      const v1 = sha(file('root', 1).data);
      // Judged with no root stored, but one is there now: refused.
      await assert.rejects(store.updateMany(gun, [file('targets', 2)], { baseRoot: null }), (e: unknown) => e instanceof VersionConflictError && /a root was stored/.test(e.message));
      await store.updateMany(gun, [file('targets', 2), file('timestamp', 2)], { baseRoot: v1 });
      await store.updateMany(gun, [file('root', 2)], { baseRoot: v1 });
      // Judged against root v1, but v2 is current now.
      await assert.rejects(store.updateMany(gun, [file('targets', 3)], { baseRoot: v1 }), (e: unknown) => e instanceof VersionConflictError && /its root changed/.test(e.message));
      // Deleted between validation and storing: nothing may be stored without a root.
      await store.deleteGun(gun);
      await assert.rejects(store.updateMany(gun, [file('targets', 3), file('snapshot', 3), file('timestamp', 3)], { baseRoot: sha(file('root', 2).data) }), (e: unknown) => e instanceof VersionConflictError && /it was deleted/.test(e.message));
      for (const role of ['root', 'targets', 'snapshot', 'timestamp']) assert.equal(await store.getCurrent(gun, role), null, role);
      // Without baseRoot there is no such check (tests and tools that write files directly).
      await store.updateMany(gun, [file('targets', 1)]);
      assert.equal((await store.getCurrent(gun, 'targets'))?.version, 1);
    });

    it('rejects a role sent twice in one update, at the same or another version', async () => {
      const gun = uniqueGun();
      await assert.rejects(store.updateMany(gun, [file('targets', 2), file('targets', 2, ' ')]), (err: unknown) => {
        assert.ok(err instanceof VersionConflictError);
        assert.match(err.message, /targets appears twice/);
        return true;
      });
      await assert.rejects(store.updateMany(gun, [file('targets', 2), file('root', 1), file('targets', 3)]), VersionConflictError);
      assert.equal(await store.getCurrent(gun, 'targets'), null);
      assert.equal(await store.getCurrent(gun, 'root'), null);
    });

    it('refuses malformed input from the caller', async () => {
      const gun = uniqueGun();
      await assert.rejects(store.updateMany('', [file('targets', 1)]), StateError);
      await assert.rejects(store.updateMany(gun, [file('tar\u0000gets', 1)]), StateError);
      await assert.rejects(store.updateMany(gun, [{ role: 'targets', version: 1.5, data: Buffer.from('x') }]), StateError);
      await assert.rejects(store.updateMany(gun, [{ role: 'targets', version: -1, data: Buffer.from('x') }]), StateError);
      await assert.rejects(store.updateMany(gun, [{ role: 'targets', version: 2 ** 53, data: Buffer.from('x') }]), StateError);
      await store.updateMany(gun, []); // nothing to do
      assert.deepEqual(await store.getChanges({ gun, changeId: 0, records: 10 }), []);
    });

    it('records one update change per stored timestamp, none without a timestamp', async () => {
      const gun = uniqueGun();
      const ts = file('timestamp', 1);
      await store.updateMany(gun, [file('root', 1), file('targets', 1), file('snapshot', 1), ts]);
      await store.updateMany(gun, [file('targets', 2)]);
      const changes = await store.getChanges({ gun, changeId: 0, records: 10 });
      assert.equal(changes.length, 1);
      const [c] = changes;
      assert.equal(c?.gun, gun);
      assert.equal(c?.category, 'update');
      assert.equal(c?.version, 1);
      assert.equal(c?.sha256, sha(ts.data));
      assert.match(c?.id ?? '', /^[1-9][0-9]*$/);
    });

    it('getCurrentMany reads what getCurrent reads, role by role, in one call', async () => {
      const gun = uniqueGun();
      await store.updateMany(gun, publish(1));
      await store.updateMany(gun, [file('targets', 2), file('timestamp', 2)]);
      const many = await store.getCurrentMany(gun, ['root', 'targets', 'timestamp', 'targets/none', 'bad\u0000role']);
      assert.deepEqual([...many.keys()].sort(), ['root', 'targets', 'timestamp']);
      for (const role of ['root', 'targets', 'timestamp']) assert.deepEqual(many.get(role), await store.getCurrent(gun, role), role);
      assert.equal(many.get('targets')?.version, 2);
      assert.equal((await store.getCurrentMany(uniqueGun(), ['root'])).size, 0);
    });

    it('latestChangeId is the ID of the newest record, as getChanges from the newest gives it', async () => {
      const newestId = async (): Promise<number> => Number((await store.getChanges({ changeId: -1, records: -1 })).at(-1)?.id ?? 0);
      const before = await store.latestChangeId();
      assert.equal(before, await newestId());
      const gun = uniqueGun();
      await store.updateMany(gun, publish(1));
      const after = await store.latestChangeId();
      assert.ok(after > before, `${after} > ${before}`);
      assert.equal(after, await newestId());
      await store.updateMany(gun, [file('targets', 2)]); // no timestamp: no record
      assert.equal(await store.latestChangeId(), after);
    });

    it('deletes exactly one GUN, not GUNs it is a prefix of', async () => {
      const gun = uniqueGun();
      const others = [`${gun}2`, `${gun}/sub`, gun.toUpperCase()];
      for (const g of [gun, ...others]) await store.updateMany(g, publish(1));
      assert.equal(await store.deleteGun(gun), true);
      for (const role of ['root', 'targets', 'snapshot', 'timestamp']) assert.equal(await store.getCurrent(gun, role), null);
      for (const g of others) assert.equal((await store.getCurrent(g, 'targets'))?.version, 1, g);
      assert.equal(await store.deleteGun(gun), false, 'nothing left to delete');
      const changes = await store.getChanges({ gun, changeId: 0, records: 10 });
      assert.deepEqual(
        changes.map((c) => [c.category, c.version, c.sha256]),
        [
          ['update', 1, sha(file('timestamp', 1).data)],
          ['deletion', 0, ''],
        ],
        'one deletion record, only for the effective delete',
      );
      await store.updateMany(gun, publish(1)); // a deleted GUN starts again at any version
      assert.equal((await store.getCurrent(gun, 'root'))?.version, 1);
    });

    it('deleting an unknown GUN records nothing', async () => {
      const gun = uniqueGun();
      const newest = await store.getChanges({ changeId: -1, records: 1 });
      assert.equal(await store.deleteGun(gun), false);
      assert.equal(await store.deleteGun('bad\u0000gun'), false);
      assert.deepEqual(await store.getChanges({ changeId: -1, records: 1 }), newest);
    });

    it('pages the changefeed forward and backward with Notary semantics', async () => {
      const gun = uniqueGun();
      const other = uniqueGun();
      for (let v = 1; v <= 5; v++) {
        await store.updateMany(gun, [file('timestamp', v)]);
        await store.updateMany(other, [file('timestamp', v)]);
      }
      const all = await store.getChanges({ gun, changeId: 0, records: 100 });
      assert.deepEqual(all.map((c) => c.version), [1, 2, 3, 4, 5]);
      const ids = all.map((c) => Number(c.id));
      assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'ascending IDs');
      const versions = async (q: { changeId: number; records: number; gun?: string }) => (await store.getChanges({ gun, ...q })).map((c) => c.version);

      assert.deepEqual(await versions({ changeId: 0, records: 2 }), [1, 2]);
      assert.deepEqual(await versions({ changeId: ids[1]!, records: 2 }), [3, 4], 'forward: IDs after change_id');
      assert.deepEqual(await versions({ changeId: ids[4]!, records: 2 }), [], 'nothing after the newest');
      assert.deepEqual(await versions({ changeId: -1, records: -2 }), [4, 5], 'backward from the newest, oldest first');
      assert.deepEqual(await versions({ changeId: -1, records: 2 }), [4, 5], 'a negative change_id walks backwards whatever the sign of records');
      assert.deepEqual(await versions({ changeId: 0, records: -3 }), [3, 4, 5], 'backward from 0 starts at the newest');
      assert.deepEqual(await versions({ changeId: ids[3]!, records: -2 }), [2, 3], 'backward: the last records before change_id');
      assert.deepEqual(await versions({ changeId: ids[0]!, records: -2 }), [], 'nothing before the oldest');

      // The global feed interleaves both GUNs in commit order.
      const global = await store.getChanges({ changeId: ids[0]! - 1, records: 4 });
      assert.deepEqual(global.map((c) => [c.gun, c.version]), [[gun, 1], [other, 1], [gun, 2], [other, 2]]);
      const newest = await store.getChanges({ changeId: -1, records: -3 });
      assert.deepEqual(newest.map((c) => [c.gun, c.version]), [[other, 4], [gun, 5], [other, 5]]);
    });

    it('records=0 returns at most 100 changes', async () => {
      const gun = uniqueGun();
      for (let v = 1; v <= 102; v++) await store.updateMany(gun, [file('timestamp', v)]);
      const page = await store.getChanges({ gun, changeId: 0, records: 0 });
      assert.equal(page.length, 100);
      assert.equal(page[0]?.version, 1);
      assert.equal((await store.getChanges({ gun, changeId: 0, records: 1000 })).length, 102);
      await assert.rejects(store.getChanges({ gun, changeId: 0.5, records: 1 }), StateError);
    });

    it('keeps server keys per GUN and role, oldest first', async () => {
      const gun = uniqueGun();
      const key = (keyId: string, role: 'timestamp' | 'snapshot') => ({
        gun,
        role,
        keyId,
        keyType: 'ed25519',
        publicValue: Buffer.from(keyId).toString('base64'),
        encryptedPrivate: Buffer.from([0, 1, 2, 255, keyId.length]),
      });
      await store.addServerKey(key('k1', 'timestamp'));
      await store.addServerKey(key('k2', 'snapshot'));
      await store.addServerKey(key('k3', 'timestamp'));
      const ts = await store.getServerKeys(gun, 'timestamp');
      assert.deepEqual(ts.map((k) => k.keyId), ['k1', 'k3']);
      assert.deepEqual(ts[0]?.encryptedPrivate, Buffer.from([0, 1, 2, 255, 2]));
      assert.equal(ts[0]?.publicValue, Buffer.from('k1').toString('base64'));
      assert.equal(ts[0]?.keyType, 'ed25519');
      assert.ok(ts[0]?.createdAt instanceof Date);
      assert.deepEqual((await store.getServerKeys(gun, 'snapshot')).map((k) => k.keyId), ['k2']);
      assert.deepEqual(await store.getServerKeys(uniqueGun(), 'timestamp'), []);
      await assert.rejects(store.addServerKey(key('k1', 'snapshot')), (err: unknown) => err instanceof StorageError && /already stored/.test(err.message));
      await assert.rejects(store.addServerKey({ ...key('k9', 'timestamp'), encryptedPrivate: Buffer.alloc(0) }), StateError);
    });

    it('answers ping', async () => {
      await store.ping();
    });
  });
}

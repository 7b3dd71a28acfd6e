// SPDX-License-Identifier: Apache-2.0
// Atomicity and races: injected failures mid-transaction, concurrent publishes
// of the same versions, and the two advisory locks (per GUN, changefeed).
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError } from '../../../shared/errors.js';
import { VersionConflictError, type MetaUpdate } from '../../../server/storage/meta-store.js';
import type { SqlClient } from '../../../server/storage/sql-client.js';
import { LOCK_FEED_SQL, LOCK_GUN_SQL, type SqlMetaStore } from '../../../server/storage/sql-meta-store.js';
import { InterceptingClient, allBackends, itOn, stateAfter, uniqueGun } from './backends.js';

const file = (role: string, version: number, tag = ''): MetaUpdate => ({ role, version, data: Buffer.from(`{"role":"${role}","version":${version},"tag":"${tag}"}`) });
const publish = (version: number, tag = ''): MetaUpdate[] => ['root', 'targets', 'snapshot', 'timestamp'].map((r) => file(r, version, tag));

for (const backend of await allBackends('concurrency')) {
  describe(`MetaStore atomicity and races (${backend.name})`, () => {
    const it = itOn(backend);
    let client: SqlClient;
    let store: SqlMetaStore;
    let failOn: RegExp | undefined;
    before(async () => {
      if (backend.skip !== undefined) return;
      client = await backend.client();
      store = backend.storeOver(new InterceptingClient(client, (sql) => (failOn?.test(sql) ? 'fail' : undefined)));
    });
    after(async () => {
      await store?.close();
      await backend.cleanup();
    });

    it('a failure in the middle of an update leaves nothing behind', async () => {
      const gun = uniqueGun();
      // A trigger fails the changefeed insert, after the files were inserted (inside signet_store_update).
      await client.execScript(`CREATE FUNCTION fail_feed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
        CREATE TRIGGER fail_feed BEFORE INSERT ON changefeed FOR EACH ROW WHEN (NEW.gun = '${gun}') EXECUTE FUNCTION fail_feed();`);
      try {
        await assert.rejects(store.updateMany(gun, publish(1)), (err: unknown) => {
          assert.ok(err instanceof StorageError);
          assert.equal(err.code, 'STORAGE');
          assert.match(err.message, new RegExp(`cannot store an update of ${gun}`));
          return true;
        });
      } finally {
        await client.execScript('DROP TRIGGER fail_feed ON changefeed; DROP FUNCTION fail_feed();');
      }
      for (const role of ['root', 'targets', 'snapshot', 'timestamp']) assert.equal(await store.getCurrent(gun, role), null, role);
      assert.deepEqual(await store.getChanges({ gun, changeId: 0, records: 10 }), []);
      await store.updateMany(gun, publish(1)); // and the versions are still free
    });

    it('a failure in the middle of a delete keeps the GUN', async () => {
      const gun = uniqueGun();
      await store.updateMany(gun, publish(1));
      failOn = /INSERT INTO changefeed/;
      try {
        await assert.rejects(store.deleteGun(gun), StorageError);
      } finally {
        failOn = undefined;
      }
      assert.equal((await store.getCurrent(gun, 'targets'))?.version, 1);
      assert.equal((await store.getChanges({ gun, changeId: 0, records: 10 })).length, 1);
    });

    it('maps a unique violation (a writer that bypassed the version check) to VersionConflictError', async () => {
      const gun = uniqueGun();
      let pending: Promise<void> | undefined;
      // A writer that takes no GUN lock inserts version 3 and has not committed when the publish checks:
      // the check sees nothing stored, and the insert then meets the unique constraint.
      await client.transaction(async (tx) => {
        await tx.query("INSERT INTO tuf_files (gun, role, version, data, sha256) VALUES ($1, 'targets', 3, $2, repeat('b', 64))", [gun, Buffer.from('bypass')]);
        pending = store.updateMany(gun, [file('targets', 3, 'other')]);
        assert.equal(await stateAfter(pending, 300), 'pending', 'the insert waits for the other writer');
      });
      await assert.rejects(pending!, (err: unknown) => {
        assert.ok(err instanceof VersionConflictError, `got ${String(err)}`);
        assert.equal(err.code, 'VERSION_CONFLICT');
        return true;
      });
      assert.equal((await store.getCurrent(gun, 'targets'))?.data.toString(), 'bypass');
    });

    it('a stale version names the role and the version in its error', async () => {
      const gun = uniqueGun();
      await store.updateMany(gun, publish(2));
      await assert.rejects(store.updateMany(gun, [file('targets', 3), file('snapshot', 2)]), (err: unknown) => {
        assert.ok(err instanceof VersionConflictError, `got ${String(err)}`);
        assert.match(err.message, /snapshot/);
        assert.match(err.message, /\b2\b/);
        return true;
      });
      assert.equal((await store.getCurrent(gun, 'targets'))?.version, 2, 'nothing of the refused update was stored');
    });

    it('of two racing publishes of the same versions exactly one wins, whole', async () => {
      for (let round = 0; round < 5; round++) {
        const gun = uniqueGun();
        await store.updateMany(gun, publish(1));
        const results = await Promise.allSettled([store.updateMany(gun, publish(2, 'a')), store.updateMany(gun, publish(2, 'b'))]);
        const won = results.findIndex((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        assert.ok(won >= 0, 'one publish succeeds');
        assert.equal(lost.length, 1, 'the other fails');
        assert.ok(lost[0]?.status === 'rejected' && lost[0].reason instanceof VersionConflictError, `loser got ${lost[0]?.status === 'rejected' ? String(lost[0].reason) : ''}`);
        const winner = won === 0 ? 'a' : 'b';
        for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
          const current = await store.getCurrent(gun, role);
          assert.equal(current?.version, 2);
          assert.deepEqual(current?.data, file(role, 2, winner).data, `${role} comes from the winning publish`);
        }
        assert.equal((await store.getChanges({ gun, changeId: 0, records: 10 })).length, 2);
      }
    });

    it('racing publishes of different versions keep every role increasing', async () => {
      const gun = uniqueGun();
      await store.updateMany(gun, [file('targets', 1)]);
      const results = await Promise.allSettled([5, 6, 7, 8].map((v) => store.updateMany(gun, [file('targets', v)])));
      assert.ok(results.some((r) => r.status === 'fulfilled'));
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof VersionConflictError);
      // Insertion order = id order; the stored versions must increase along it.
      const { rows } = await client.query<{ version: string | number }>('SELECT version FROM tuf_files WHERE gun = $1 AND role = $2 ORDER BY id', [gun, 'targets']);
      const stored = rows.map((r) => Number(r.version));
      assert.deepEqual(stored, [...stored].sort((a, b) => a - b));
    });

    it('an update waits for the GUN lock and then sees what the holder committed', async () => {
      const gun = uniqueGun();
      await store.updateMany(gun, [file('targets', 4)]);
      let pending: Promise<void> | undefined;
      await client.transaction(async (tx) => {
        await tx.query(LOCK_GUN_SQL, [gun]);
        await tx.query("INSERT INTO tuf_files (gun, role, version, data, sha256) VALUES ($1, 'targets', 6, $2, repeat('a', 64))", [gun, Buffer.from('six')]);
        pending = store.updateMany(gun, [file('targets', 5)]);
        // Without the lock, version 5 would not clash with the uncommitted 6 and would be stored now.
        assert.equal(await stateAfter(pending, 300), 'pending');
      });
      await assert.rejects(pending!, VersionConflictError);
      assert.equal(await store.getByVersion(gun, 'targets', 5), null);
    });

    it('changefeed IDs follow commit order', async () => {
      const gun = uniqueGun();
      let pending: Promise<void> | undefined;
      let heldId = 0;
      await client.transaction(async (tx) => {
        await tx.query(LOCK_FEED_SQL);
        const res = await tx.query<{ id: string }>("INSERT INTO changefeed (gun, version, sha256, category) VALUES ($1, 0, '', 'deletion') RETURNING id::text AS id", [uniqueGun()]);
        heldId = Number(res.rows[0]?.id);
        pending = store.updateMany(gun, [file('timestamp', 1)]);
        // Without the feed lock the publish would commit a higher ID while this lower one is still invisible.
        assert.equal(await stateAfter(pending, 300), 'pending');
      });
      await pending;
      const [change] = await store.getChanges({ gun, changeId: 0, records: 1 });
      assert.ok(Number(change?.id) > heldId);
    });
  });
}

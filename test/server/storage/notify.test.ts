// SPDX-License-Identifier: Apache-2.0
// Change notifications for cache invalidation: in-process on both stores,
// across store instances (processes) through LISTEN/NOTIFY on PostgreSQL.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { VersionConflictError, type MetaUpdate } from '../../../server/storage/meta-store.js';
import { openStore } from '../../../server/storage/open-store.js';
import type { SqlMetaStore } from '../../../server/storage/sql-meta-store.js';
import { PG_URL, allBackends, itOn, postgresBackend, uniqueGun } from './backends.js';
import { sleep } from '../../support/net.js';

const file = (role: string, version: number): MetaUpdate => ({ role, version, data: Buffer.from(`${role} ${version}`) });

/** Resolves when `pred` holds, polling; fails after `ms`. */
async function eventually(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const backend of await allBackends('notify')) {
  describe(`change notifications in one store (${backend.name})`, () => {
    const it = itOn(backend);
    let store: SqlMetaStore;
    before(async () => {
      if (backend.skip === undefined) store = await openStore(backend.options);
    });
    after(async () => {
      await store?.close();
      await backend.cleanup();
    });

    it('tells subscribers about a committed publish before updateMany resolves, once', async () => {
      const heard: string[] = [];
      const stop = await store.subscribe((gun) => heard.push(gun));
      const gun = uniqueGun();
      await store.updateMany(gun, [file('targets', 1)]);
      assert.deepEqual(heard, [gun]);
      await sleep(300); // our own NOTIFY (PostgreSQL) must not announce it a second time
      assert.deepEqual(heard, [gun]);
      stop();
      await store.updateMany(gun, [file('targets', 2)]);
      assert.deepEqual(heard, [gun], 'nothing after unsubscribing');
    });

    it('says nothing about a rejected publish or a delete of nothing; announces an effective delete', async () => {
      const gun = uniqueGun();
      await store.updateMany(gun, [file('targets', 1)]);
      const heard: string[] = [];
      const stop = await store.subscribe((g) => heard.push(g));
      try {
        await assert.rejects(store.updateMany(gun, [file('targets', 1)]), VersionConflictError);
        assert.equal(await store.deleteGun(uniqueGun()), false);
        assert.deepEqual(heard, []);
        assert.equal(await store.deleteGun(gun), true);
        assert.deepEqual(heard, [gun]);
      } finally {
        stop();
      }
    });

    it('a throwing subscriber does not fail the write or starve others', async () => {
      const heard: string[] = [];
      const stopBad = await store.subscribe(() => {
        throw new Error('cache bug');
      });
      const stopGood = await store.subscribe((g) => heard.push(g));
      const gun = uniqueGun();
      await store.updateMany(gun, [file('targets', 1)]);
      assert.deepEqual(heard, [gun]);
      stopBad();
      stopGood();
    });
  });
}

const pgBackend = await postgresBackend('notify2');
describe('change notifications across PostgreSQL stores', () => {
  const it = itOn(pgBackend);
  let writer: SqlMetaStore;
  let reader: SqlMetaStore;
  before(async () => {
    if (pgBackend.skip !== undefined) return;
    writer = await openStore(pgBackend.options);
    reader = await openStore(pgBackend.options);
  });
  after(async () => {
    await writer?.close();
    await reader?.close();
    await pgBackend.cleanup();
  });

  it('a second store instance hears committed publishes and deletes, not rolled-back ones', async () => {
    const heard: string[] = [];
    const stop = await reader.subscribe((gun) => heard.push(gun));
    try {
      const gun = uniqueGun();
      await writer.updateMany(gun, [file('targets', 1)]);
      await eventually(() => heard.includes(gun), 'the NOTIFY of the publish');
      heard.length = 0;
      await assert.rejects(writer.updateMany(gun, [file('targets', 1)]), VersionConflictError);
      await sleep(300);
      assert.equal(heard.length, 0, 'a rolled-back update sends nothing');
      await writer.deleteGun(gun);
      await eventually(() => heard.includes(gun), 'the NOTIFY of the delete');
    } finally {
      stop();
    }
  });

  it('a publish that fails inside its transaction announces nothing', async () => {
    const heard: string[] = [];
    const stop = await reader.subscribe((gun) => heard.push(gun));
    const gun = uniqueGun();
    const admin = await pgBackend.client();
    // A deferred trigger fails the publish at commit, after its pg_notify was queued.
    await admin.execScript(`CREATE FUNCTION fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$;
      CREATE CONSTRAINT TRIGGER fail_commit AFTER INSERT ON tuf_files DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.gun = '${gun}') EXECUTE FUNCTION fail_commit();`);
    try {
      await assert.rejects(writer.updateMany(gun, [file('targets', 1), file('timestamp', 1)]), /injected failure at commit/);
      await writer.updateMany(uniqueGun(), [file('targets', 1)]); // a later commit, to know NOTIFYs got through
      await eventually(() => heard.length === 1, 'the NOTIFY of the later publish');
      assert.ok(!heard.includes(gun));
      assert.equal(await writer.getCurrent(gun, 'targets'), null);
    } finally {
      stop();
      await admin.execScript('DROP TRIGGER fail_commit ON tuf_files; DROP FUNCTION fail_commit();');
      await admin.close();
    }
  });

  it('a lost listener connection resets subscribers and listening resumes', async () => {
    const resets: boolean[] = [];
    const heard: string[] = [];
    const stop = await reader.subscribe(
      (gun) => heard.push(gun),
      (listening) => resets.push(listening),
    );
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const channel = `signet_changes_${(pgBackend.options.schema ?? '')}`;
      const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1', [`LISTEN "${channel}"`]);
      assert.equal(killed.rowCount, 1, 'one listener connection (shared by all subscribers of the reader)');
      await eventually(() => resets.length >= 2, 'a reset for the loss and one after reconnecting');
      assert.deepEqual(resets, [false, true], 'not listening after the loss, listening again after reconnecting');
      const gun = uniqueGun();
      await writer.updateMany(gun, [file('targets', 1)]);
      await eventually(() => heard.includes(gun), 'a NOTIFY after reconnecting');
    } finally {
      stop();
      await admin.end();
    }
  });

  it('stores of another schema do not hear it', async () => {
    const other = await postgresBackend('notify3');
    const stranger = await openStore(other.options);
    try {
      const heard: string[] = [];
      await stranger.subscribe((gun) => heard.push(gun));
      await writer.updateMany(uniqueGun(), [file('targets', 1)]);
      await sleep(300);
      assert.deepEqual(heard, []);
    } finally {
      await stranger.close();
      await other.cleanup();
    }
  });
});

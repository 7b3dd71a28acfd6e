// SPDX-License-Identifier: Apache-2.0
// The embedded store keeps everything across close and reopen, in a private
// directory; open times are reported as test diagnostics.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { openStore } from '../../../server/storage/open-store.js';
import { embeddedBackend, uniqueGun } from './backends.js';

const backend = await embeddedBackend('persist', { fresh: true }); // measures a real initialisation
describe('embedded store persistence', () => {
  after(() => backend.cleanup());

  it('keeps files, changefeed and server keys across close and reopen', async (t) => {
    let started = performance.now();
    let store = await openStore(backend.options);
    t.diagnostic(`open of a new data dir: ${Math.round(performance.now() - started)} ms`);
    const gun = uniqueGun();
    const gone = uniqueGun();
    const data = Buffer.from([1, 2, 3, 0, 255]);
    await store.updateMany(gun, [
      { role: 'targets', version: 2, data },
      { role: 'timestamp', version: 1, data: Buffer.from('ts') },
    ]);
    await store.updateMany(gone, [{ role: 'timestamp', version: 1, data: Buffer.from('ts2') }]);
    await store.deleteGun(gone);
    await store.addServerKey({ gun, role: 'timestamp', keyId: 'abc', keyType: 'ed25519', publicValue: 'cHVi', encryptedPrivate: Buffer.from('sealed') });
    const feed = await store.getChanges({ changeId: 0, records: 10 });
    await store.close();

    started = performance.now();
    store = await openStore(backend.options);
    t.diagnostic(`open of an existing data dir: ${Math.round(performance.now() - started)} ms`);
    try {
      assert.deepEqual((await store.getCurrent(gun, 'targets'))?.data, data);
      assert.equal(await store.getCurrent(gone, 'timestamp'), null);
      assert.deepEqual(await store.getChanges({ changeId: 0, records: 10 }), feed);
      assert.deepEqual(feed.map((c) => c.category), ['update', 'update', 'deletion']);
      assert.deepEqual((await store.getServerKeys(gun, 'timestamp')).map((k) => [k.keyId, k.encryptedPrivate.toString()]), [['abc', 'sealed']]);
      // Versions continue from what was stored before the restart.
      await assert.rejects(store.updateMany(gun, [{ role: 'targets', version: 2, data }]), /not newer/);
    } finally {
      await store.close();
    }
  });

  it('keeps the data directory private to its owner', () => {
    assert.equal(fs.statSync(backend.options.dataDir!).mode & 0o777, 0o700);
  });
});

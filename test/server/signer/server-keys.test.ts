// SPDX-License-Identifier: Apache-2.0
// Which server key is active (GET/POST <role>.key through the trust service):
// root-listed held key first, else the newest held key, else a new one; races converge.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeNotaryPublicKey } from '../../../shared/codec/notary-keys.js';
import { FIXTURE_NOW } from '../../support/paths.js';
import { KeyStoreError } from '../../../shared/errors.js';
import { createServerKeys } from '../../../server/signer/server-keys.js';
import { Clock, Publisher, openEmbeddedStore, part, testService, testSigner, uniqueGun, type TestStore } from '../domain/support.js';

describe('server keys: get-or-create and rotate', () => {
  let ts: TestStore;
  const clock = new Clock(FIXTURE_NOW);
  before(async () => {
    ts = await openEmbeddedStore('keys');
  });
  after(() => ts.close());

  it('creates one ed25519 key on first use and returns it again, public part only', async () => {
    const service = testService(ts.store, clock);
    const gun = uniqueGun();
    const first = await service.getOrCreateKey(gun, 'timestamp');
    assert.deepEqual(Object.keys(first).sort(), ['keyType', 'publicValue']);
    assert.equal(first.keyType, 'ed25519');
    assert.deepEqual(await service.getOrCreateKey(gun, 'timestamp'), first);
    assert.equal((await ts.store.getServerKeys(gun, 'timestamp')).length, 1);
    assert.equal((await ts.store.getServerKeys(gun, 'snapshot')).length, 0, 'roles are separate');
  });

  it('concurrent first calls end with one key', async () => {
    const service = testService(ts.store, clock);
    const gun = uniqueGun();
    const keys = await Promise.all([1, 2, 3, 4, 5].map(() => service.getOrCreateKey(gun, 'snapshot')));
    assert.equal(new Set(keys.map((k) => k.publicValue)).size, 1);
    assert.equal((await ts.store.getServerKeys(gun, 'snapshot')).length, 1);
  });

  it('two servers racing on one store agree on the active key afterwards', async () => {
    const a = testService(ts.store, clock);
    const b = testService(ts.store, clock);
    const gun = uniqueGun();
    await Promise.all([a.getOrCreateKey(gun, 'timestamp'), b.getOrCreateKey(gun, 'timestamp')]);
    assert.deepEqual(await a.getOrCreateKey(gun, 'timestamp'), await b.getOrCreateKey(gun, 'timestamp'));
  });

  it('rotate always creates a new key; before a root lists it, it is the active one', async () => {
    const service = testService(ts.store, clock);
    const gun = uniqueGun();
    const first = await service.getOrCreateKey(gun, 'timestamp');
    const rotated = await service.rotateKey(gun, 'timestamp');
    assert.notDeepEqual(rotated, first);
    assert.deepEqual(await service.getOrCreateKey(gun, 'timestamp'), rotated);
  });

  it('once a root lists a held key, that key stays active across rotations until a root lists the new one', async () => {
    const service = testService(ts.store, clock);
    const p = await Publisher.create(service, clock, { serverSnapshot: true });
    await service.applyUpdate(p.gun, [part('root', await p.root()), part('targets', await p.targets('targets', { version: 1 }))]);
    const listed = await service.getOrCreateKey(p.gun, 'timestamp');
    assert.equal(makeNotaryPublicKey(listed.keyType, listed.publicValue).id, p.timestampKey.id);
    const rotated = await service.rotateKey(p.gun, 'timestamp');
    assert.deepEqual(await service.getOrCreateKey(p.gun, 'timestamp'), listed, 'root still lists the old key');
    // Publish root v2 listing the rotated key: timestamps are signed with it from then on.
    const rotatedKey = makeNotaryPublicKey(rotated.keyType, rotated.publicValue);
    await service.applyUpdate(p.gun, [part('root', await p.root({ version: 2, timestampKey: rotatedKey }))]);
    assert.deepEqual(await service.getOrCreateKey(p.gun, 'timestamp'), rotated);
    const ts2 = await service.getCurrent(p.gun, 'timestamp');
    assert.match(ts2!.data.toString('utf8'), new RegExp(`"keyid":"${rotatedKey.id}"`));
  });

  it('a root listing only keys the server does not hold falls back to the newest held key', async () => {
    const service = testService(ts.store, clock);
    const p = await Publisher.create(service, clock);
    const root = await p.root();
    const targets = await p.targets('targets', { version: 1 });
    await service.applyUpdate(p.gun, [part('root', root), part('targets', targets), part('snapshot', await p.snapshot(1, { root, targets }))]);
    // root lists the client's own snapshot key: GET snapshot.key hands out (and creates) a server key.
    const created = await service.getOrCreateKey(p.gun, 'snapshot');
    assert.notEqual(makeNotaryPublicKey(created.keyType, created.publicValue).id, p.snapshotKey.publicKey.id);
    assert.deepEqual(await service.getOrCreateKey(p.gun, 'snapshot'), created);
  });

  it('a held key that fails does not hide the next key root lists; if every held key fails, the first failure is thrown', async () => {
    const service = testService(ts.store, clock);
    const gun = uniqueGun();
    const a = await service.getOrCreateKey(gun, 'timestamp');
    const b = await service.rotateKey(gun, 'timestamp');
    const inner = testSigner(ts.store);
    const ids = [a, b].map((k) => makeNotaryPublicKey(k.keyType, k.publicValue).id);
    const broken = new Set([ids[0]]);
    const keys = createServerKeys({
      keysInStore: inner.keysInStore,
      listKeys: (g, role) => inner.listKeys(g, role),
      createKey: (g, role) => inner.createKey(g, role),
      forgetKeys: (g) => inner.forgetKeys(g),
      getSigner: async (g, role, keyId) => {
        if (broken.has(keyId)) throw new KeyStoreError('KEY_FILE_INVALID', `key ${keyId} cannot be decrypted`);
        return inner.getSigner(g, role, keyId);
      },
    });
    assert.equal((await keys.signerFor(gun, 'timestamp', ids))?.publicKey.id, ids[1]);
    broken.add(ids[1]);
    await assert.rejects(keys.signerFor(gun, 'timestamp', ids), (e: unknown) => e instanceof KeyStoreError && e.message.includes(ids[0]!));
    assert.equal(await keys.signerFor(gun, 'timestamp', ['ab'.repeat(32)]), null, 'no listed key held');
  });
});

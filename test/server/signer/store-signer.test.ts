// SPDX-License-Identifier: Apache-2.0
// The store-backed ServerSigner against the real embedded store: what reaches
// the store is ciphertext bound to its row; signatures verify with the shared verifier.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { makeNotaryPublicKey, publicKeyFromKeyObject } from '../../../shared/codec/notary-keys.js';
import { verifySignature } from '../../../shared/crypto/verify.js';
import { KeyStoreError } from '../../../shared/errors.js';
import { openServerKey } from '../../../server/signer/key-encryption.js';
import { createStoreSigner } from '../../../server/signer/store-signer.js';
import type { SqlClient } from '../../../server/storage/sql-client.js';
import type { SqlMetaStore } from '../../../server/storage/sql-meta-store.js';
import { Clock, DAY_MS, Publisher, TEST_KDF, TEST_PASSPHRASE, assertRefused, openEmbeddedStore, part, testService, testSigner, uniqueGun, type TestStore } from '../domain/support.js';
import { FIXTURE_NOW } from '../../support/paths.js';
import { ServerKeyGoneError } from '../../../server/storage/meta-store.js';
import { embeddedBackend, itOn, postgresBackend } from '../storage/backends.js';

describe('store-backed server signer', () => {
  let ts: TestStore;
  before(async () => {
    ts = await openEmbeddedStore('signer');
  });
  after(() => ts.close());

  it('creates ed25519 keys that sign with eddsa, verifiable by the shared verifier', async () => {
    const signer = testSigner(ts.store);
    const gun = uniqueGun();
    const key = await signer.createKey(gun, 'timestamp');
    assert.equal(key.keyType, 'ed25519');
    const s = (await signer.getSigner(gun, 'timestamp', key.id))!;
    const sig = await s.sign(Buffer.from('message'));
    assert.equal(sig.method, 'eddsa');
    assert.equal(sig.keyId, key.id);
    assert.ok(verifySignature(key, sig, Buffer.from('message')));
    assert.ok(!verifySignature(key, sig, Buffer.from('other message')));
  });

  it('creates P-256 keys signing with ecdsa when configured', async () => {
    const signer = createStoreSigner({ store: ts.store, passphrase: TEST_PASSPHRASE, algorithm: 'ecdsa', kdf: TEST_KDF });
    const gun = uniqueGun();
    const key = await signer.createKey(gun, 'snapshot');
    assert.equal(key.keyType, 'ecdsa');
    const sig = await (await signer.getSigner(gun, 'snapshot', key.id))!.sign(Buffer.from('m'));
    assert.equal(sig.method, 'ecdsa');
    assert.ok(verifySignature(key, sig, Buffer.from('m')));
  });

  it('stores only ciphertext: the row holds neither the PKCS#8 key nor its seed', async () => {
    const signer = testSigner(ts.store);
    const gun = uniqueGun();
    const key = await signer.createKey(gun, 'timestamp');
    const [row] = await ts.store.getServerKeys(gun, 'timestamp');
    assert.equal(row!.keyId, key.id);
    const der = await openServerKey(row!.encryptedPrivate, TEST_PASSPHRASE, { gun, role: 'timestamp', keyId: key.id });
    assert.equal(publicKeyFromKeyObject(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).id, key.id);
    assert.equal(row!.encryptedPrivate.indexOf(der.subarray(der.length - 32)), -1, 'seed not in the row');
    assert.equal(row!.encryptedPrivate.indexOf(der.subarray(8)), -1, 'PKCS#8 body not in the row');
  });

  it('a restarted server (no cache) signs with stored keys; a wrong passphrase cannot', async () => {
    const gun = uniqueGun();
    const key = await testSigner(ts.store).createKey(gun, 'timestamp');
    const again = testSigner(ts.store);
    assert.ok(verifySignature(key, await (await again.getSigner(gun, 'timestamp', key.id))!.sign(Buffer.from('x')), Buffer.from('x')));
    const wrong = testSigner(ts.store, 'not the passphrase');
    await assert.rejects(wrong.getSigner(gun, 'timestamp', key.id), (e: unknown) => e instanceof KeyStoreError && e.code === 'PASSPHRASE_WRONG');
  });

  it('a key row copied to another GUN does not decrypt there', async () => {
    const gunA = uniqueGun();
    const gunB = uniqueGun();
    const key = await testSigner(ts.store).createKey(gunA, 'timestamp');
    const [row] = await ts.store.getServerKeys(gunA, 'timestamp');
    await ts.store.addServerKey({ gun: gunB, role: 'timestamp', keyId: row!.keyId, keyType: row!.keyType, publicValue: row!.publicValue, encryptedPrivate: row!.encryptedPrivate });
    await assert.rejects(testSigner(ts.store).getSigner(gunB, 'timestamp', key.id), (e: unknown) => e instanceof KeyStoreError && e.code === 'PASSPHRASE_WRONG');
  });

  it('a ciphertext moved to another key ID does not decrypt, and a row whose ID does not match its public key is refused', async () => {
    const gun = uniqueGun();
    await testSigner(ts.store).createKey(gun, 'timestamp');
    const [row] = await ts.store.getServerKeys(gun, 'timestamp');
    const other = publicKeyFromKeyObject(generateKeyPairSync('ed25519').privateKey);
    // Swapped: another key's identity with this key's ciphertext.
    await ts.store.addServerKey({ gun, role: 'timestamp', keyId: other.id, keyType: other.keyType, publicValue: other.publicValue, encryptedPrivate: row!.encryptedPrivate });
    await assert.rejects(testSigner(ts.store).getSigner(gun, 'timestamp', other.id), (e: unknown) => e instanceof KeyStoreError && e.code === 'PASSPHRASE_WRONG');
    // Edited: the public value no longer hashes to the key ID.
    const third = publicKeyFromKeyObject(generateKeyPairSync('ed25519').privateKey);
    await ts.store.addServerKey({ gun, role: 'timestamp', keyId: third.id, keyType: row!.keyType, publicValue: row!.publicValue, encryptedPrivate: row!.encryptedPrivate });
    await assert.rejects(testSigner(ts.store).getSigner(gun, 'timestamp', third.id), (e: unknown) => e instanceof KeyStoreError && e.code === 'KEY_FILE_INVALID');
  });

  it('answers null for a key it does not hold, and refuses an empty passphrase', async () => {
    assert.equal(await testSigner(ts.store).getSigner(uniqueGun(), 'timestamp', 'c'.repeat(64)), null);
    assert.throws(() => createStoreSigner({ store: ts.store, passphrase: '' }), (e: unknown) => e instanceof KeyStoreError && e.code === 'PASSPHRASE_REQUIRED');
  });
});

// A second server on the same database (PostgreSQL), or SQL from outside, deletes key rows this
// process holds decrypted in its cache: an update signed with such a key must not be stored.
for (const backend of [await embeddedBackend('stale-key'), await postgresBackend('stale-key')]) {
  describe(`store-backed server signer: a cached key whose row another server deleted (${backend.name})`, () => {
    const itOnBackend = itOn(backend);
    const open: { close(): Promise<void> }[] = [];
    const clock = new Clock(FIXTURE_NOW);
    let client: SqlClient;
    let store: SqlMetaStore;
    let service: ReturnType<typeof testService>;
    let signer: ReturnType<typeof testSigner>;
    before(async () => {
      if (backend.skip !== undefined) return;
      client = await backend.client();
      store = backend.storeOver(client);
      open.push(store);
      signer = testSigner(store);
      service = testService(store, clock, { signer });
    });
    after(async () => {
      for (const o of open) await o.close();
      await backend.cleanup();
    });

    /** A GUN published once, snapshot and timestamp signed by this server (so their keys are cached). */
    async function published(): Promise<Publisher> {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      await service.applyUpdate(p.gun, [part('root', await p.root()), part('targets', await p.targets('targets', { version: 1 }))]);
      return p;
    }

    /** Embedded: one process per data directory, so the "outside" DELETE runs on the store's own client. */
    async function outside(): Promise<SqlClient> {
      if (backend.name !== 'postgres') return client;
      const other = await backend.rawClient();
      open.push(other);
      return other;
    }

    for (const role of ['timestamp', 'snapshot'] as const) {
      itOnBackend(`the ${role} key row deleted by SQL: the next publish is refused as SERVER_KEY_MISSING and stores nothing`, async () => {
        const p = await published();
        const keyId = role === 'timestamp' ? p.timestampKey.id : p.snapshotOnServer!.id;
        await (await outside()).query('DELETE FROM server_keys WHERE gun = $1 AND key_id = $2', [p.gun, keyId]);
        const before = await store.getCurrentMany(p.gun, ['targets', 'snapshot', 'timestamp']);
        const e = await assertRefused(service.applyUpdate(p.gun, [part('targets', await p.targets('targets', { version: 2 }))]), role === 'timestamp' ? 'ErrBadRoot' : 'ErrBadHierarchy', 'SERVER_KEY_MISSING', new RegExp(`${role} key ${keyId}`));
        assert.ok(e.cause instanceof ServerKeyGoneError);
        const after = await store.getCurrentMany(p.gun, ['targets', 'snapshot', 'timestamp']);
        for (const r of ['targets', 'snapshot', 'timestamp']) assert.equal(after.get(r)?.sha256, before.get(r)?.sha256, `${r} changed`);
        assert.equal(await signer.getSigner(p.gun, role, keyId), null, 'the decrypted key whose row is gone was dropped from memory');
      });
    }

    itOnBackend('the timestamp key row deleted by SQL: an expired timestamp is served as it is, not re-signed with the cached key', async () => {
      const p = await published();
      const first = (await service.getCurrent(p.gun, 'timestamp'))!;
      await (await outside()).query('DELETE FROM server_keys WHERE gun = $1 AND key_id = $2', [p.gun, p.timestampKey.id]);
      clock.advance(15 * DAY_MS);
      const served = (await service.getCurrent(p.gun, 'timestamp'))!;
      assert.equal(served.version, first.version, 'not re-signed');
      assert.equal((await store.getCurrent(p.gun, 'timestamp'))!.sha256, first.sha256, 'nothing stored');
    });

    itOnBackend('the snapshot key row deleted by SQL: a due snapshot is not re-signed with the cached key, nor its timestamp stored', async () => {
      const p = await published();
      const first = (await service.getCurrent(p.gun, 'timestamp'))!;
      await (await outside()).query('DELETE FROM server_keys WHERE gun = $1 AND key_id = $2', [p.gun, p.snapshotOnServer!.id]);
      // The snapshot is due within the margin (the timestamp is not): only the cached snapshot key can re-sign it.
      const result = (await service.refreshTimestamp(p.gun, { timestampMs: 0, snapshotMs: 4 * 365 * DAY_MS }))!;
      assert.equal(result.resigned, false);
      assert.match(result.blocked?.message ?? '', new RegExp(`snapshot key ${p.snapshotOnServer!.id}`));
      assert.equal((await store.getCurrent(p.gun, 'timestamp'))!.sha256, first.sha256, 'nothing stored');
    });

    itOnBackend('a GUN deleted by a second server: publishing the old root again is refused as by that server, not signed with the deleted keys', async () => {
      if (backend.name !== 'postgres') return; // embedded: one store per data directory
      const second = backend.storeOver(await backend.rawClient());
      open.push(second);
      const p = await published();
      assert.equal(await second.deleteGun(p.gun), true);
      // The old root lists the old timestamp and snapshot keys, which only this process's cache still holds.
      const oldRoot = async () => [part('root', await p.root()), part('targets', await p.targets('targets', { version: 1 }))];
      // The second server, which holds neither key, refuses it as notary does (the snapshot is signed first);
      // this one must answer the same whether or not its cache still holds the keys.
      await assertRefused(testService(second, clock).applyUpdate(p.gun, await oldRoot()), 'ErrBadHierarchy', 'SERVER_KEY_MISSING');
      const e = await assertRefused(service.applyUpdate(p.gun, await oldRoot()), 'ErrBadHierarchy', 'SERVER_KEY_MISSING', /snapshot\.key and .*timestamp\.key/);
      assert.equal(e.missing, 'snapshot');
      assert.equal(await store.getCurrent(p.gun, 'root'), null, 'nothing was stored');
      // A new key from GET timestamp.key, listed in root, publishes as usual.
      const fresh = await service.getOrCreateKey(p.gun, 'timestamp');
      assert.notEqual(fresh.publicValue, p.timestampKey.publicValue);
      p.timestampKey = makeNotaryPublicKey(fresh.keyType, fresh.publicValue);
      const snapshot = await service.getOrCreateKey(p.gun, 'snapshot');
      p.snapshotOnServer = makeNotaryPublicKey(snapshot.keyType, snapshot.publicValue);
      await service.applyUpdate(p.gun, [part('root', await p.root()), part('targets', await p.targets('targets', { version: 1 }))]);
      assert.notEqual(await store.getCurrent(p.gun, 'timestamp'), null);
    });
  });
}

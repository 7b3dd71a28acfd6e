// SPDX-License-Identifier: Apache-2.0
// The store-backed ServerSigner against the real embedded store: what reaches
// the store is ciphertext bound to its row; signatures verify with the shared verifier.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { publicKeyFromKeyObject } from '../../../shared/codec/notary-keys.js';
import { verifySignature } from '../../../shared/crypto/verify.js';
import { KeyStoreError } from '../../../shared/errors.js';
import { openServerKey } from '../../../server/signer/key-encryption.js';
import { createStoreSigner } from '../../../server/signer/store-signer.js';
import { createServerKeys } from '../../../server/signer/server-keys.js';
import type { SqlClient } from '../../../server/storage/sql-client.js';
import type { SqlMetaStore } from '../../../server/storage/sql-meta-store.js';
import { TEST_KDF, TEST_PASSPHRASE, openEmbeddedStore, testSigner, uniqueGun, type TestStore } from '../domain/support.js';
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

// A second server on the same database (PostgreSQL), or SQL from outside, deletes a key row this
// process holds decrypted in its cache: the cached key must not sign after its row is gone.
for (const backend of [await embeddedBackend('stale-key'), await postgresBackend('stale-key')]) {
  describe(`store-backed server signer: a cached key whose row another server deleted (${backend.name})`, () => {
    const itOnBackend = itOn(backend);
    const open: { close(): Promise<void> }[] = [];
    let client: SqlClient;
    let store: SqlMetaStore;
    before(async () => {
      if (backend.skip !== undefined) return;
      client = await backend.client();
      store = backend.storeOver(client);
      open.push(store);
    });
    after(async () => {
      for (const o of open) await o.close();
      await backend.cleanup();
    });

    itOnBackend('a row deleted by SQL: the cached key answers null, as a key never stored, and a new key takes over', async () => {
      const signer = testSigner(store);
      const gun = uniqueGun();
      const key = await signer.createKey(gun, 'timestamp'); // cached by createKey
      assert.notEqual(await signer.getSigner(gun, 'timestamp', key.id), null);
      // Embedded: one process per data directory, so the "outside" DELETE runs on the store's own client.
      const other = backend.name === 'postgres' ? await backend.rawClient() : client;
      if (other !== client) open.push(other);
      await other.query('DELETE FROM server_keys WHERE gun = $1 AND key_id = $2', [gun, key.id]);
      assert.equal(await signer.getSigner(gun, 'timestamp', key.id), null);
      const keys = createServerKeys(signer);
      assert.equal(await keys.signerFor(gun, 'timestamp', [key.id]), null, 'a publish is refused as SERVER_KEY_MISSING');
      const replacement = await keys.getOrCreateKey(gun, 'timestamp', [key.id]);
      assert.notEqual(replacement.id, key.id, 'GET timestamp.key hands out a new key');
      const s = (await keys.signerFor(gun, 'timestamp', [replacement.id]))!;
      assert.ok(verifySignature(replacement, await s.sign(Buffer.from('m')), Buffer.from('m')));
    });

    itOnBackend('a GUN deleted through a second store on the same database: the first server no longer signs with its keys', async () => {
      if (backend.name !== 'postgres') return; // embedded: one store per data directory
      const second = backend.storeOver(await backend.rawClient());
      open.push(second);
      const signer = testSigner(store);
      const gun = uniqueGun();
      const ts = await signer.createKey(gun, 'timestamp');
      const snap = await signer.createKey(gun, 'snapshot');
      await store.updateMany(gun, [{ role: 'root', version: 1, data: Buffer.from('{}') }]);
      assert.equal(await second.deleteGun(gun), true);
      assert.equal(await signer.getSigner(gun, 'timestamp', ts.id), null);
      assert.equal(await signer.getSigner(gun, 'snapshot', snap.id), null);
    });
  });
}

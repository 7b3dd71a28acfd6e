// SPDX-License-Identifier: Apache-2.0
// MemoryKeyStore and CryptoService (several stores, first match wins).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { canonicalKeyId, makeNotaryPublicKey, publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { CryptoError } from '../../shared/errors.js';
import { CryptoService } from '../../keys/crypto-service.js';
import { FileKeyStore } from '../../keys/file-store.js';
import { MemoryKeyStore } from '../../keys/memory-store.js';
import { constantPassphraseRetriever, envPassphraseRetriever } from '../../keys/passphrase.js';
import { fixture } from '../support/paths.js';
import { assertRejectsCode, copyFixtureTrustDir, FIXTURE_ENV, stripPemHeaders, verifyNotarySignature } from './support/helpers.js';

describe('MemoryKeyStore', () => {
  test('generate, list, sign, remove', async () => {
    const store = new MemoryKeyStore();
    const a = await store.generate({ role: 'timestamp', gun: 'g', algorithm: 'ed25519' });
    const b = await store.generate({ role: 'targets/x', gun: 'dropped' });
    assert.deepEqual(await store.list(), [
      { keyId: a.id, role: 'timestamp', gun: 'g', algorithm: 'ed25519', location: 'memory' },
      { keyId: b.id, role: 'targets/x', algorithm: 'ecdsa', location: 'memory' },
    ]);
    const sig = await (await store.getSigner(a.id)).sign(Buffer.from('m'));
    assert.equal(sig.method, 'eddsa');
    assert.ok(verifyNotarySignature(createPublicKey({ key: a.spki!, format: 'der', type: 'spki' }), Buffer.from('m'), sig));
    await store.remove(a.id);
    assert.equal(await store.has(a.id), false);
    await assertRejectsCode(store.getSigner(a.id), 'KEY_NOT_FOUND');
  });

  test('export is encrypted unless unencrypted is asked for; needs a passphrase source otherwise', async () => {
    const store = new MemoryKeyStore();
    const a = await store.generate({ role: 'targets', gun: 'g' });
    await assertRejectsCode(store.exportPem(a.id), 'PASSPHRASE_REQUIRED');
    const enc = await store.exportPem(a.id, { passphrase: 'p' });
    assert.match(enc, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: g\nrole: targets\n\n/);
    assert.equal(canonicalKeyId(publicKeyFromKeyObject(createPrivateKey({ key: stripPemHeaders(enc), passphrase: 'p' }))), a.id);
    const withRetriever = new MemoryKeyStore({ retriever: constantPassphraseRetriever('q') });
    const b = await withRetriever.importPem(await store.exportPem(a.id, { unencrypted: true }));
    assert.equal(b.id, a.id);
    assert.deepEqual((await withRetriever.list()).map((k) => [k.role, k.gun]), [['targets', 'g']]);
    createPrivateKey({ key: stripPemHeaders(await withRetriever.exportPem(b.id)), passphrase: 'q' });
  });

  test('importing an encrypted PEM without a passphrase source is PASSPHRASE_REQUIRED', async () => {
    const pem = fs.readFileSync(fixture('trust_dir', 'owner', 'private', '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac.key'));
    await assertRejectsCode(new MemoryKeyStore().importPem(pem), 'PASSPHRASE_REQUIRED');
    const pub = await new MemoryKeyStore({ retriever: envPassphraseRetriever(FIXTURE_ENV) }).importPem(pem);
    assert.equal(pub.id, '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac');
  });
});

describe('CryptoService', () => {
  test('first store holding a key wins; new keys go to the first store; list deduplicates', async () => {
    const mem = new MemoryKeyStore();
    const files = new FileKeyStore(copyFixtureTrustDir('owner'), { retriever: envPassphraseRetriever(FIXTURE_ENV) });
    const cs = new CryptoService([mem, files]);
    const created = await cs.create({ role: 'targets/new' });
    assert.equal(await mem.has(created.id), true);
    assert.equal((await cs.list()).length, 3);
    const rootId = '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac';
    assert.equal((await cs.getSigner(rootId)).publicKey.id, rootId);
    await assertRejectsCode(cs.getSigner('00'.repeat(32)), 'KEY_NOT_FOUND', 'memory');
    await assertRejectsCode(cs.remove('00'.repeat(32)), 'KEY_NOT_FOUND');
  });

  test('signersFor picks the keys we hold, by canonical ID, signing under each key\'s own (certificate) ID', async () => {
    const root = JSON.parse(fs.readFileSync(fixture('server', 'root.json'), 'utf8')) as { signed: { keys: Record<string, { keytype: string; keyval: { public: string } }> } };
    const keys = Object.values(root.signed.keys).map((k) => makeNotaryPublicKey(k.keytype, k.keyval.public));
    const cs = new CryptoService([new FileKeyStore(copyFixtureTrustDir('owner'), { retriever: envPassphraseRetriever(FIXTURE_ENV) })]);
    const signers = await cs.signersFor(keys);
    assert.deepEqual(signers.map((s) => s.publicKey.id).sort(), ['50c5db8043356e6c1ca87f7a06aa909493c9b12d1153079d790ace59bd826d11', 'efb000413ad5ca5493e0553395ada497db84ac22a4b371ffadd9096506e9e01a']);
  });

  test('a signer under a foreign public key is refused', async () => {
    const mem = new MemoryKeyStore();
    const a = await mem.generate({ role: 'root' });
    const other = publicKeyFromKeyObject(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    await assert.rejects(new CryptoService([mem]).getSigner(a.id, other), (e: unknown) => e instanceof CryptoError && e.code === 'INVALID_KEY');
  });
});

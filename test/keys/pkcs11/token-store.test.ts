// SPDX-License-Identifier: Apache-2.0
// Pkcs11TokenStore against a real SoftHSM2 token made by the test: keys made
// and used on the token, Notary `ecdsa` signatures, routing of other roles
// to the file store, import, removal, PINs, token selection, fallback and
// backup.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { publicKeyFromCertificatePem, publicKeyFromKeyObject } from '../../../shared/codec/notary-keys.js';
import { createSelfSignedCertificate, p1363ToDer } from '../../../shared/crypto/index.js';
import { CryptoError, KeyStoreError } from '../../../shared/errors.js';
import { encodeEncryptedKeyFile, encodePlainKeyFile } from '../../../keys/key-file.js';
import type { KeyStore } from '../../../keys/key-store.js';
import { constantPassphraseRetriever } from '../../../keys/passphrase.js';
import { CK, openPkcs11Module } from '../../../keys/pkcs11/binding.js';
import { CryptoService } from '../../../keys/crypto-service.js';
import { createSoftHsm, softhsmSkip, type SoftHsm, type TestToken } from '../../support/softhsm.js';
import { assertNotaryEcdsa, closeAll, fileStore, rejectsToken, tokenStore } from './helpers.js';

const skip = softhsmSkip();
const DATA = Buffer.from('{"signed":"canonical bytes"}');

describe('Pkcs11TokenStore on SoftHSM2', { skip }, () => {
  let hsm: SoftHsm;
  let a: TestToken;
  let b: TestToken;
  const onA = (extra: { pin?: string } = {}) => ({ modulePath: hsm.modulePath, selector: { label: a.label }, pin: extra.pin ?? a.pin });

  before(() => {
    hsm = createSoftHsm();
    a = hsm.createToken('signet-a', '2468');
    b = hsm.createToken('signet-b', '1357');
  });
  after(async () => {
    await closeAll();
    hsm.remove();
  });

  test('a root key generated on the token is listed with its location and signs Notary ecdsa (raw r‖s over SHA-256)', async () => {
    const files = fileStore();
    const store = tokenStore(onA(), { delegate: files });
    const pub = await store.generate({ role: 'root' });
    assert.equal(pub.keyType, 'ecdsa');
    const listed = (await store.list()).find((k) => k.keyId === pub.id);
    assert.deepEqual(listed, { keyId: pub.id, role: 'root', algorithm: 'ecdsa', location: 'pkcs11:signet-a' });
    assert.deepEqual(await files.list(), [], 'nothing went to the file store');
    const signer = await store.getSigner(pub.id);
    assertNotaryEcdsa(await signer.sign(DATA), DATA, pub);
    // a new session (another process would do the same) finds the key on the token
    const again = tokenStore(onA());
    assert.ok(await again.has(pub.id));
    assertNotaryEcdsa(await (await again.getSigner(pub.id)).sign(DATA), DATA, pub);
  });

  test('a root certificate is signed on the token, and the token key then signs under the certificate key ID', async () => {
    const store = tokenStore(onA());
    const plain = await store.generate({ role: 'root' });
    const plainSigner = await store.getSigner(plain.id);
    const pem = await createSelfSignedCertificate({ commonName: 'example.com/app', publicKeySpki: plain.spki!, sign: async (tbs) => p1363ToDer((await plainSigner.sign(tbs)).sig) });
    const cert = publicKeyFromCertificatePem(pem);
    assert.notEqual(cert.id, plain.id);
    assertNotaryEcdsa(await (await store.getSigner(plain.id, cert)).sign(DATA), DATA, cert);
    const stranger = publicKeyFromKeyObject(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    await assert.rejects(store.getSigner(plain.id, stranger), (e: unknown) => e instanceof CryptoError && e.code === 'INVALID_KEY');
  });

  test('concurrent signatures run one at a time and all verify', async () => {
    const store = tokenStore(onA());
    const pub = await store.generate({ role: 'root' });
    const signer = await store.getSigner(pub.id);
    const inputs = [0, 1, 2, 3, 4, 5].map((i) => Buffer.from(`payload ${i}`));
    const sigs = await Promise.all(inputs.map((d) => signer.sign(d)));
    sigs.forEach((s, i) => assertNotaryEcdsa(s, inputs[i]!, pub));
  });

  test('keys of other roles go to the file store; without one they are refused', async () => {
    const files = fileStore();
    const store = tokenStore(onA(), { delegate: files });
    const targets = await store.generate({ role: 'targets', gun: 'example.com/app' });
    assert.deepEqual((await files.list()).map((k) => [k.keyId, k.role, k.gun]), [[targets.id, 'targets', 'example.com/app']]);
    assert.ok(!(await store.has(targets.id)));
    await assert.rejects(tokenStore(onA()).generate({ role: 'targets', gun: 'example.com/app' }), (e: unknown) => e instanceof KeyStoreError && e.code === 'KEY_ROLE_INVALID');
    // SIGNET_PKCS11_ROLES=root,targets puts targets keys on the token too
    const both = tokenStore(onA(), { delegate: files, roles: ['root', 'targets'] });
    const onToken = await both.generate({ role: 'targets', gun: 'example.com/app' });
    assert.deepEqual((await both.list()).filter((k) => k.keyId === onToken.id).map((k) => [k.role, k.gun]), [['targets', 'example.com/app']]);
  });

  test('only ECDSA P-256 keys go on a token', async () => {
    const store = tokenStore(onA());
    await assert.rejects(
      store.generate({ role: 'root', algorithm: 'ed25519' }),
      // the remedy names settings that apply to a present token (SIGNET_PKCS11_FALLBACK only acts when it is missing)
      (e: unknown) => e instanceof CryptoError && e.code === 'UNSUPPORTED_ALGORITHM' && /SIGNET_PKCS11_ROLES/.test(e.message) && /unset SIGNET_PKCS11_MODULE/.test(e.message) && !/FALLBACK/.test(e.message),
    );
    const ed = generateKeyPairSync('ed25519').privateKey;
    const before = (await store.list()).length;
    await assert.rejects(store.importPem(encodePlainKeyFile(ed, 'root', undefined)), (e: unknown) => e instanceof CryptoError && e.code === 'UNSUPPORTED_ALGORITHM');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    await assert.rejects(store.importPem(encodePlainKeyFile(p384, 'root', undefined)), (e: unknown) => e instanceof CryptoError && /P-256/.test(e.message));
    assert.equal((await store.list()).length, before, 'nothing was written');
  });

  test('key import: an encrypted Notary key file goes onto the token and signs as the original key', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pem = encodeEncryptedKeyFile(key, 'root', undefined, 'import-pass');
    const store = tokenStore(onA(), { retriever: constantPassphraseRetriever('import-pass') });
    const pub = await store.importPem(pem);
    const info = (await store.list()).find((k) => k.keyId === pub.id);
    assert.equal(info?.role, 'root');
    assertNotaryEcdsa(await (await store.getSigner(pub.id)).sign(DATA), DATA, pub);
    assert.deepEqual(await store.importPem(pem), pub, 'a second import is a no-op');
    assert.equal((await store.list()).filter((k) => k.keyId === pub.id).length, 1);
    // a delegation key (not a token role) goes to the file store instead
    const files = fileStore();
    const routed = tokenStore(onA(), { delegate: files });
    const del = await routed.importPem(encodePlainKeyFile(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'targets/releases', undefined));
    assert.ok(await files.has(del.id));
    assert.ok(!(await routed.has(del.id)));
  });

  test('remove deletes both halves; private keys are neither exported nor re-encrypted', async () => {
    const store = tokenStore(onA());
    const pub = await store.generate({ role: 'root' });
    await rejectsToken(store.exportPem(pub.id), 'TOKEN', undefined, /never leaves the token/);
    await rejectsToken(store.changePassphrase(pub.id), 'TOKEN', undefined, /PIN/);
    await store.remove(pub.id);
    assert.ok(!(await store.has(pub.id)));
    await rejectsToken(store.getSigner(pub.id), 'KEY_NOT_FOUND');
    await rejectsToken(store.remove(pub.id), 'KEY_NOT_FOUND');
    // no object of any class is left under the key's CKA_ID (searched logged in, so private objects show)
    const left = await store.session.run(true, (m, s) => m.findObjects(s, [{ type: CK.CKA_ID, value: Buffer.from(pub.id, 'hex') }]));
    assert.deepEqual(left, []);
  });

  test('listing needs no PIN; signing with a wrong PIN fails PASSPHRASE_WRONG without retrying it, and the PIN is in no message', async () => {
    const good = tokenStore(onA());
    const pub = await good.generate({ role: 'root' });
    // PKCS#11 login state is per process and token: end every session so the next login is a real one
    await closeAll();
    let asked = 0;
    const noPin = tokenStore({ ...onA(), pin: async () => { asked++; throw new Error('no PIN should be needed'); } });
    assert.ok(await noPin.has(pub.id));
    assert.equal(asked, 0);
    const wrong = tokenStore(onA({ pin: '999999' }));
    const signer = await wrong.getSigner(pub.id);
    const err = await rejectsToken(signer.sign(DATA), 'PASSPHRASE_WRONG', 'CKR_PIN_INCORRECT');
    assert.doesNotMatch(err.message, /999999/);
    const missing = tokenStore({ ...onA(), pin: undefined });
    await rejectsToken((await missing.getSigner(pub.id)).sign(DATA), 'PASSPHRASE_REQUIRED', undefined, /SIGNET_PKCS11_PIN/);
  });

  test('token selection: by label, by slot ID; a missing token or module is a clear error', async () => {
    const m = openPkcs11Module(hsm.modulePath);
    const slotOfB = m.slots().find((s) => m.tokenInfo(s).label === b.label)!;
    m.release();
    const slotId = Number(slotOfB.readBigUInt64LE(0));
    const bySlot = tokenStore({ modulePath: hsm.modulePath, selector: { slot: slotId }, pin: b.pin });
    const pub = await bySlot.generate({ role: 'root' });
    assert.ok(await tokenStore({ modulePath: hsm.modulePath, selector: { label: 'signet-b' } }).has(pub.id));
    assert.ok(!(await tokenStore(onA()).has(pub.id)), 'keys stay on their own token');
    await rejectsToken(tokenStore({ modulePath: hsm.modulePath }).list(), 'TOKEN', undefined, /2 tokens match.*SIGNET_PKCS11_TOKEN/);
    await rejectsToken(tokenStore({ modulePath: hsm.modulePath, selector: { label: 'nope' } }).getSigner(pub.id), 'TOKEN_MISSING', undefined, /no token labelled "nope".*"signet-(a|b)".*"signet-(a|b)".*insert it/);
    await rejectsToken(tokenStore({ modulePath: '/nonexistent/libpkcs11.so', selector: { label: 'x' } }).list(), 'PKCS11_UNAVAILABLE', undefined, /SIGNET_PKCS11_MODULE/);
  });

  test('a missing token holds no keys for list and has (one notice), while new root keys and its signers fail TOKEN_MISSING', async () => {
    const files = fileStore();
    const notices: string[] = [];
    const missing = tokenStore({ modulePath: hsm.modulePath, selector: { label: 'unplugged' }, pin: '0000' }, { delegate: files, notify: (m) => notices.push(m) });
    assert.deepEqual(await missing.list(), []);
    assert.equal(await missing.has('ab'.repeat(32)), false);
    assert.equal(notices.length, 1, 'said once');
    assert.match(notices[0]!, /no token labelled "unplugged" is present.*going on with the key files/);
    assert.equal(missing.unavailable()?.code, 'TOKEN_MISSING');
    await rejectsToken(missing.generate({ role: 'root' }), 'TOKEN_MISSING', undefined, /insert it/);
    await rejectsToken(missing.importPem(encodePlainKeyFile(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'root', undefined)), 'TOKEN_MISSING');
    await rejectsToken(missing.getSigner('ab'.repeat(32)), 'TOKEN_MISSING');
    assert.deepEqual(await files.list(), [], 'no root key went to the files');
    // keys of other roles are made as usual
    const targets = await missing.generate({ role: 'targets', gun: 'example.com/app' });
    assert.deepEqual((await files.list()).map((k) => k.keyId), [targets.id]);
    // through a CryptoService: a file key signs; a key it cannot find may be on the missing token, and the error says so
    const keys = new CryptoService([missing, files]);
    assert.ok(await keys.getSigner(targets.id));
    await assert.rejects(keys.getSigner('cd'.repeat(32)), (e: unknown) => e instanceof KeyStoreError && e.code === 'TOKEN_MISSING' && /may be on the missing one.*"unplugged"/.test(e.message));
    assert.equal(notices.length, 1);
  });

  test("the store's name is the label of the token it found (chosen by slot, or the only one)", async () => {
    const m = openPkcs11Module(hsm.modulePath);
    const slotOfA = m.slots().find((s) => m.tokenInfo(s).label === a.label)!;
    m.release();
    const bySlot = tokenStore({ modulePath: hsm.modulePath, selector: { slot: Number(slotOfA.readBigUInt64LE(0)) } });
    assert.equal(bySlot.name, `pkcs11:slot ${Number(slotOfA.readBigUInt64LE(0))}`, 'what was asked for, before the token is found');
    const listed = await bySlot.list();
    assert.equal(bySlot.name, 'pkcs11:signet-a');
    assert.ok(listed.length > 0 && listed.every((k) => k.location === 'pkcs11:signet-a'), JSON.stringify(listed));
  });

  test('a missing token falls back to the file store only when asked', async () => {
    const files = fileStore();
    const missing = { modulePath: hsm.modulePath, selector: { label: 'unplugged' }, pin: '0000' };
    await rejectsToken(tokenStore(missing, { delegate: files }).generate({ role: 'root' }), 'TOKEN_MISSING');
    assert.deepEqual(await files.list(), []);
    const notices: string[] = [];
    const fallback = tokenStore(missing, { delegate: files, fallbackToDelegate: true, notify: (m) => notices.push(m) });
    assert.deepEqual(await fallback.list(), []);
    assert.equal(await fallback.available(), false);
    const pub = await fallback.generate({ role: 'root' });
    assert.deepEqual((await files.list()).map((k) => [k.keyId, k.role]), [[pub.id, 'root']]);
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /token unplugged is not available.*file store/);
  });

  test('backup: the new root key (made in software) is on the token and in an encrypted file; a failed backup leaves no token key', async () => {
    const files = fileStore('backup-pass');
    const store = tokenStore(onA(), { delegate: files, backup: true });
    const pub = await store.generate({ role: 'root' });
    assert.ok(await store.has(pub.id));
    assert.ok(await files.has(pub.id));
    const exported = await files.exportPem(pub.id);
    assert.match(exported, /BEGIN ENCRYPTED PRIVATE KEY/);
    assertNotaryEcdsa(await (await files.getSigner(pub.id)).sign(DATA), DATA, pub);
    assertNotaryEcdsa(await (await store.getSigner(pub.id)).sign(DATA), DATA, pub);

    const before = new Set((await store.list()).map((k) => k.keyId));
    const refusing = { importPem: async () => { throw new KeyStoreError('PASSPHRASE_REQUIRED', 'no passphrase'); } } as unknown as KeyStore;
    const failing = tokenStore(onA(), { delegate: refusing, backup: true });
    await assert.rejects(failing.generate({ role: 'root' }), (e: unknown) => e instanceof KeyStoreError && e.code === 'PASSPHRASE_REQUIRED');
    assert.deepEqual(new Set((await store.list()).map((k) => k.keyId)), before, 'the token copy was removed again');
  });

  test('touch message on stderr before each signature when configured', async () => {
    const notices: string[] = [];
    const store = tokenStore(onA(), { touchMessage: true, notify: (m) => notices.push(m) });
    const pub = await store.generate({ role: 'root' });
    const signer = await store.getSigner(pub.id);
    await signer.sign(DATA);
    await signer.sign(DATA);
    assert.deepEqual(notices, [`Touch token signet-a to sign with key ${pub.id.slice(0, 7)}…`, `Touch token signet-a to sign with key ${pub.id.slice(0, 7)}…`]);
    const quiet: string[] = [];
    await (await tokenStore(onA(), { notify: (m) => quiet.push(m) }).getSigner(pub.id)).sign(DATA);
    assert.deepEqual(quiet, []);
  });

  test('SECURITY: a key object whose CKA_ID is not its public key ID is reported and never used', async () => {
    const store = tokenStore(onA());
    const pub = await store.generate({ role: 'root' });
    const bogus = 'ab'.repeat(32);
    // re-label the public object of a real key with a foreign ID, as a tampered token would present it
    await store.session.run(true, (m, s) => {
      const [obj] = m.findObjects(s, [{ type: CK.CKA_CLASS, value: CK.CKO_PUBLIC_KEY }, { type: CK.CKA_ID, value: Buffer.from(pub.id, 'hex') }]);
      m.setAttributes(s, obj!, [{ type: CK.CKA_ID, value: Buffer.from(bogus, 'hex') }]);
    });
    const listed = (await store.list()).find((k) => k.keyId === bogus);
    assert.match(listed?.problem ?? '', /is not the ID of its public key/);
    assert.ok(!(await store.has(bogus)));
    await rejectsToken(store.getSigner(bogus), 'KEY_NOT_FOUND');
    assert.ok(!(await store.has(pub.id)));
  });
});

// SPDX-License-Identifier: Apache-2.0
// FileKeyStore over real directories. After every operation the trust dir is
// audited: nothing unencrypted, key files 0600, directories 0700, no temp files.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { makeNotaryPublicKey, publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { CryptoError } from '../../shared/errors.js';
import { canonicalize } from '../../shared/json/canonical.js';
import type { JSONValue } from '../../shared/json/types.js';
import { FileKeyStore } from '../../keys/file-store.js';
import { constantPassphraseRetriever, envPassphraseRetriever, type PassphraseRequest, type PassphraseRetriever } from '../../keys/passphrase.js';
import { fixture } from '../support/paths.js';
import { assertRejectsCode, assertTrustDirSafe, copyFixtureTrustDir, FIXTURE_ENV, stripPemHeaders, tempDir, verifyNotarySignature } from './support/helpers.js';

const ROOT_ID = '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac';
const TARGETS_ID = '50c5db8043356e6c1ca87f7a06aa909493c9b12d1153079d790ace59bd826d11';

/** Records every request; answers from a queue, then `fallback`. */
function recordingRetriever(fallback: string, queue: string[] = []): PassphraseRetriever & { calls: PassphraseRequest[] } {
  const calls: PassphraseRequest[] = [];
  const r = async (req: PassphraseRequest): Promise<string> => {
    calls.push(req);
    return queue.shift() ?? fallback;
  };
  return Object.assign(r, { calls });
}

const readKey = (dir: string, id: string): string => fs.readFileSync(path.join(dir, 'private', `${id}.key`), 'utf8');

describe('FileKeyStore over the fixture trust dirs', () => {
  test('lists every key with role, gun and location; algorithm unknown until unlocked', async () => {
    const dir = copyFixtureTrustDir('owner-after-init');
    const store = new FileKeyStore(dir, { retriever: envPassphraseRetriever(FIXTURE_ENV) });
    const list = (await store.list()).sort((a, b) => a.role.localeCompare(b.role));
    assert.deepEqual(list.map((k) => [k.role, k.gun, k.algorithm]), [['root', undefined, 'unknown'], ['snapshot', 'example.com/app', 'unknown'], ['targets', 'example.com/app', 'unknown']]);
    assert.equal(list[0]!.location, path.join(dir, 'private', `${ROOT_ID}.key`));
    await store.getSigner(ROOT_ID);
    assert.equal((await store.list()).find((k) => k.keyId === ROOT_ID)!.algorithm, 'ecdsa');
    assertTrustDirSafe(dir);
  });

  test('the root key signs under its certificate\'s key ID; the signature verifies with the certificate', async () => {
    const root = JSON.parse(fs.readFileSync(fixture('server', 'root.json'), 'utf8')) as { signed: JSONValue & { keys: Record<string, { keytype: string; keyval: { public: string } }> } };
    const certId = 'efb000413ad5ca5493e0553395ada497db84ac22a4b371ffadd9096506e9e01a';
    const wire = root.signed.keys[certId]!;
    const certKey = makeNotaryPublicKey(wire.keytype, wire.keyval.public);
    const store = new FileKeyStore(copyFixtureTrustDir('owner'), { retriever: envPassphraseRetriever(FIXTURE_ENV) });
    const signer = await store.getSigner(ROOT_ID, certKey);
    const data = Buffer.from(canonicalize(root.signed));
    const sig = await signer.sign(data);
    assert.equal(sig.keyId, certId);
    assert.ok(verifyNotarySignature(certKey.certificates[0]!.publicKey, data, sig));
  });

  test('refuses to sign under a public key that is not the private key\'s', async () => {
    const store = new FileKeyStore(copyFixtureTrustDir('owner'), { retriever: envPassphraseRetriever(FIXTURE_ENV) });
    const other = publicKeyFromKeyObject(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    await assert.rejects(store.getSigner(ROOT_ID, other), (e: unknown) => e instanceof CryptoError && e.code === 'INVALID_KEY');
  });

  test('a wrong passphrase is asked for 3 times, then PASSPHRASE_WRONG', async () => {
    const r = recordingRetriever('nope');
    const store = new FileKeyStore(copyFixtureTrustDir('owner'), { retriever: r });
    await assertRejectsCode(store.getSigner(TARGETS_ID), 'PASSPHRASE_WRONG', TARGETS_ID);
    assert.deepEqual(r.calls.map((c) => [c.attempt, c.role, c.gun, c.createNew, c.keyName]), [0, 1, 2].map((a) => [a, 'targets', 'example.com/app', false, TARGETS_ID]));
  });

  test('the third attempt may still be right', async () => {
    const r = recordingRetriever('fixture-targets-pass', ['x', 'y']);
    const store = new FileKeyStore(copyFixtureTrustDir('owner'), { retriever: r });
    await store.getSigner(TARGETS_ID);
    assert.equal(r.calls.length, 3);
  });

  test('a wrong environment passphrase is not retried and names the variable, never the value', async () => {
    const store = new FileKeyStore(copyFixtureTrustDir('owner'), { retriever: envPassphraseRetriever({ NOTARY_ROOT_PASSPHRASE: 'sekrit-wrong' }) });
    const err = await assertRejectsCode(store.getSigner(ROOT_ID), 'PASSPHRASE_WRONG', 'NOTARY_ROOT_PASSPHRASE');
    assert.ok(!err.message.includes('sekrit-wrong'));
  });

  test('no passphrase source → PASSPHRASE_REQUIRED', async () => {
    await assertRejectsCode(new FileKeyStore(copyFixtureTrustDir('owner')).getSigner(ROOT_ID), 'PASSPHRASE_REQUIRED');
    await assertRejectsCode(new FileKeyStore(copyFixtureTrustDir('owner'), { retriever: envPassphraseRetriever({}) }).getSigner(ROOT_ID), 'PASSPHRASE_REQUIRED', 'NOTARY_ROOT_PASSPHRASE');
  });

  test('unlocked keys are cached per store: one prompt per key', async () => {
    const r = recordingRetriever('fixture-root-pass');
    const store = new FileKeyStore(copyFixtureTrustDir('owner'), { retriever: r });
    await store.getSigner(ROOT_ID);
    await store.getSigner(ROOT_ID);
    assert.equal(r.calls.length, 1);
  });

  test('a key file under the wrong name is refused (the name is the key ID)', async () => {
    const dir = copyFixtureTrustDir('owner');
    const fake = 'ab'.repeat(32);
    fs.renameSync(path.join(dir, 'private', `${ROOT_ID}.key`), path.join(dir, 'private', `${fake}.key`));
    await assertRejectsCode(new FileKeyStore(dir, { retriever: envPassphraseRetriever(FIXTURE_ENV) }).getSigner(fake), 'KEY_FILE_INVALID', `holds key ${ROOT_ID}`);
  });

  test('a file that is not a key: KEY_FILE_INVALID naming the file, before any passphrase is asked; list() flags it', async () => {
    const dir = copyFixtureTrustDir('owner');
    const bad = path.join(dir, 'private', `${'cd'.repeat(32)}.key`);
    fs.writeFileSync(bad, 'hello\n', { mode: 0o600 });
    const r = recordingRetriever('x');
    const store = new FileKeyStore(dir, { retriever: r });
    await assertRejectsCode(store.getSigner('cd'.repeat(32)), 'KEY_FILE_INVALID', bad);
    assert.equal(r.calls.length, 0);
    const listed = await store.list();
    assert.equal(listed.length, 3);
    assert.match(listed.find((k) => k.keyId === 'cd'.repeat(32))!.problem!, /no PEM private key block/);
  });

  test('fast-check: arbitrary bytes as a key file → KEY_FILE_INVALID', async () => {
    const dir = tempDir();
    const id = 'ef'.repeat(32);
    const p = path.join(dir, 'private', `${id}.key`);
    fs.mkdirSync(path.dirname(p), { mode: 0o700 });
    const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever('x') });
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
      fs.writeFileSync(p, bytes);
      await assertRejectsCode(store.getSigner(id), 'KEY_FILE_INVALID', p);
    }), { numRuns: 50 });
  });

  test('key IDs that are not hex never reach the filesystem', async () => {
    const store = new FileKeyStore(copyFixtureTrustDir('owner'), { retriever: constantPassphraseRetriever('x') });
    for (const id of ['../../etc/passwd', `${ROOT_ID}/..`, ROOT_ID.toUpperCase(), '']) {
      await assertRejectsCode(store.getSigner(id), 'KEY_NOT_FOUND', 'is not a key ID');
      assert.equal(await store.has(id), false);
    }
  });
});

describe('generate', () => {
  for (const [algorithm, method] of [['ecdsa', 'ecdsa'], ['ed25519', 'eddsa'], ['rsa', 'rsapss']] as const) {
    test(`${algorithm}: encrypted notary file named by canonical ID, modes 0600/0700, a fresh store can sign`, async () => {
      const dir = path.join(tempDir(), 'trust');
      const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever('gen-pass') });
      const pub = await store.generate({ role: 'targets', gun: 'example.com/app', algorithm, rsaBits: 2048 });
      assert.equal(pub.algorithm, algorithm);
      assertTrustDirSafe(dir);
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
      assert.match(readKey(dir, pub.id), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com\/app\nrole: targets\n\n/);
      const fresh = new FileKeyStore(dir, { retriever: constantPassphraseRetriever('gen-pass') });
      const data = Buffer.from('payload');
      const sig = await (await fresh.getSigner(pub.id)).sign(data);
      assert.equal(sig.method, method);
      assert.equal(sig.keyId, pub.id);
      assert.ok(verifyNotarySignature(createPublicKey({ key: pub.spki!, format: 'der', type: 'spki' }), data, sig));
    });
  }

  test('ecdsa P-256 is the default; root and delegation keys carry no gun', async () => {
    const dir = tempDir();
    const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever('gen-pass') });
    const root = await store.generate({ role: 'root', gun: 'example.com/app' });
    const del = await store.generate({ role: 'targets/releases', gun: 'example.com/app' });
    assert.equal(root.algorithm, 'ecdsa');
    assert.match(readKey(dir, root.id), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\n/);
    assert.match(readKey(dir, del.id), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: targets\/releases\n\n/);
    assertTrustDirSafe(dir);
  });

  test('targets/snapshot/timestamp keys need a gun; bad roles, small RSA and empty passphrases are refused', async () => {
    const dir = tempDir();
    const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever('gen-pass') });
    for (const role of ['targets', 'snapshot', 'timestamp']) await assertRejectsCode(store.generate({ role }), 'KEY_ROLE_INVALID', 'give its gun');
    for (const role of ['', '../root', 'targets/', 'a\nb']) await assertRejectsCode(store.generate({ role }), 'KEY_ROLE_INVALID');
    await assert.rejects(store.generate({ role: 'root', algorithm: 'rsa', rsaBits: 1024 }), (e: unknown) => e instanceof CryptoError && e.code === 'INVALID_KEY');
    await assertRejectsCode(new FileKeyStore(dir, { retriever: constantPassphraseRetriever('') }).generate({ role: 'root' }), 'PASSPHRASE_REQUIRED', 'unencrypted');
    assert.deepEqual(fs.existsSync(path.join(dir, 'private')) ? fs.readdirSync(path.join(dir, 'private')) : [], []);
  });

  test('a new key asks for a new passphrase (createNew) with its role and gun', async () => {
    const r = recordingRetriever('gen-pass');
    const pub = await new FileKeyStore(tempDir(), { retriever: r }).generate({ role: 'snapshot', gun: 'g' });
    assert.deepEqual(r.calls, [{ keyName: pub.id, role: 'snapshot', gun: 'g', createNew: true, attempt: 0 }]);
  });
});

describe('import (notary key import semantics)', () => {
  const releasesPem = fs.readFileSync(fixture('delegate-keys', 'releases.key'));
  const jenkinsPem = fs.readFileSync(fixture('delegate-keys', 'jenkins.key'));

  test('unencrypted openssl keys are encrypted on import, named by canonical ID (the IDs notary chose)', async () => {
    const dir = tempDir();
    const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever('imp-pass') });
    const a = await store.importPem(releasesPem, { role: 'targets/releases' });
    const b = await store.importPem(jenkinsPem.toString(), { role: 'targets/jenkins' });
    assert.deepEqual([a.id, b.id].sort(), fs.readdirSync(path.join(copyFixtureTrustDir('delegate'), 'private')).map((f) => f.slice(0, 64)).sort());
    assertTrustDirSafe(dir);
    assert.match(readKey(dir, b.id), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: targets\/jenkins\n\n/);
  });

  test('role defaults to delegation; targets needs a gun; root loses its gun; a contradicting role is refused', async () => {
    const dir = tempDir();
    const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever('imp-pass') });
    const a = await store.importPem(releasesPem);
    assert.deepEqual((await store.list()).map((k) => [k.keyId, k.role, k.gun]), [[a.id, 'delegation', undefined]]);
    await assertRejectsCode(store.importPem(releasesPem, { role: 'targets' }), 'KEY_ROLE_INVALID');
    const root = await store.importPem(jenkinsPem, { role: 'root', gun: 'example.com/app' });
    assert.match(readKey(dir, root.id), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\n/);
    const labelled = '-----BEGIN EC PRIVATE KEY-----\nrole: targets/x\n\n' + releasesPem.toString().split('\n').slice(1).join('\n');
    await assertRejectsCode(store.importPem(labelled, { role: 'targets/y' }), 'KEY_ROLE_INVALID', 'targets/x');
    assertTrustDirSafe(dir);
  });

  test('an encrypted input keeps its passphrase', async () => {
    const dir = tempDir();
    const key = generateKeyPairSync('ed25519').privateKey;
    const pem = key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'input-pass' }) as string;
    const pub = await new FileKeyStore(dir, { retriever: constantPassphraseRetriever('input-pass') }).importPem(pem, { role: 'targets/x' });
    await new FileKeyStore(dir, { retriever: constantPassphraseRetriever('input-pass') }).getSigner(pub.id);
    await assertRejectsCode(new FileKeyStore(dir, { retriever: constantPassphraseRetriever('other') }).getSigner(pub.id), 'PASSPHRASE_WRONG');
  });
});

test('writing a key narrows an existing private/ that others may write to, to 0700', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'private'), { mode: 0o777 });
  fs.chmodSync(path.join(dir, 'private'), 0o777);
  await new FileKeyStore(dir, { retriever: constantPassphraseRetriever('a-passphrase') }).generate({ role: 'targets', gun: 'example.com/app' });
  assert.equal(fs.statSync(path.join(dir, 'private')).mode & 0o777, 0o700);
  assertTrustDirSafe(dir);
});

test('an input encrypted under an empty passphrase is stored under a new one, never kept open to anyone', async () => {
  const dir = tempDir();
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const pem = key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: '' }) as string;
  // The empty passphrase opens the input (as a terminal user pressing Enter would give it); the new one is asked for.
  const store = new FileKeyStore(dir, { retriever: async (req) => (req.createNew ? 'a-new-passphrase' : '') });
  const pub = await store.importPem(pem, { role: 'targets/x' });
  const stored = readKey(dir, pub.id);
  assert.throws(() => createPrivateKey({ key: stripPemHeaders(stored), format: 'pem', passphrase: '' }));
  createPrivateKey({ key: stripPemHeaders(stored), format: 'pem', passphrase: 'a-new-passphrase' });
});

describe('export, passphrase change, removal', () => {
  async function setup(): Promise<{ dir: string; store: FileKeyStore; id: string; r: ReturnType<typeof recordingRetriever> }> {
    const dir = tempDir();
    const r = recordingRetriever('old-pass');
    const store = new FileKeyStore(dir, { retriever: r });
    const id = (await store.generate({ role: 'targets', gun: 'g' })).id;
    return { dir, store, id, r };
  }

  test('default export is the encrypted file as it is on disk (as notary key export)', async () => {
    const { dir, store, id } = await setup();
    assert.equal(await store.exportPem(id), readKey(dir, id));
  });

  test('export under another passphrase asks for the current one again and is readable with the new one', async () => {
    const { store, id, r } = await setup();
    const before = r.calls.length;
    const pem = await store.exportPem(id, { passphrase: 'export-pass' });
    assert.equal(r.calls.length, before + 1, 'the current passphrase is asked for even though the key is cached');
    assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: g\nrole: targets\n\n/);
    assert.equal(createPrivateKey({ key: stripPemHeaders(pem), passphrase: 'export-pass' }).asymmetricKeyType, 'ec');
  });

  test('unencrypted export only when asked by name; it is never written to the trust dir', async () => {
    const { dir, store, id } = await setup();
    const pem = await store.exportPem(id, { unencrypted: true });
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\ngun: g\nrole: targets\n\n/);
    assert.equal(publicKeyFromKeyObject(createPrivateKey(stripPemHeaders(pem))).id, id);
    assertTrustDirSafe(dir);
    await assertRejectsCode(store.exportPem(id, { passphrase: '' }), 'PASSPHRASE_REQUIRED');
  });

  test('changePassphrase: asks old then new, old stops working, file stays 0600', async () => {
    const { dir, id, r } = await setup();
    const n = r.calls.length;
    const r2 = recordingRetriever('new-pass', ['old-pass']);
    const store2 = new FileKeyStore(dir, { retriever: r2 });
    await store2.changePassphrase(id);
    assert.deepEqual(r2.calls.map((c) => c.createNew), [false, true]);
    assert.equal(r.calls.length, n);
    assertTrustDirSafe(dir);
    await new FileKeyStore(dir, { retriever: constantPassphraseRetriever('new-pass') }).getSigner(id);
    await assertRejectsCode(new FileKeyStore(dir, { retriever: constantPassphraseRetriever('old-pass') }).getSigner(id), 'PASSPHRASE_WRONG');
  });

  test('remove deletes the file; removing again is KEY_NOT_FOUND', async () => {
    const { dir, store, id } = await setup();
    await store.remove(id);
    assert.equal(fs.existsSync(path.join(dir, 'private', `${id}.key`)), false);
    assert.equal(await store.has(id), false);
    await assertRejectsCode(store.getSigner(id), 'KEY_NOT_FOUND');
    await assertRejectsCode(store.remove(id), 'KEY_NOT_FOUND');
  });

  test('nothing but encrypted files is ever written, whatever the operation', async () => {
    const { dir, store, id } = await setup();
    await store.exportPem(id, { unencrypted: true });
    await store.importPem(fs.readFileSync(fixture('delegate-keys', 'jenkins.key')), { role: 'targets/j' });
    await store.changePassphrase(id);
    for (const f of fs.readdirSync(path.join(dir, 'private'))) assert.match(fs.readFileSync(path.join(dir, 'private', f), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    assertTrustDirSafe(dir);
    assert.ok(!(await store.list()).some((k) => k.problem !== undefined));
  });
});

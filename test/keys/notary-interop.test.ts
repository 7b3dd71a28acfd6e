// SPDX-License-Identifier: Apache-2.0
// Key files crossing between Signet and the real notary 0.7 binary, both ways.
// `notary key passwd` decrypts a key (createNew=false) and re-encrypts it, so it
// proves notary can read what we wrote; `key list` shows it sees role and gun.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { FileKeyStore } from '../../keys/file-store.js';
import { constantPassphraseRetriever } from '../../keys/passphrase.js';
import { fixture } from '../support/paths.js';
import { assertTrustDirSafe, HAS_NOTARY, notary, tempDir, verifyNotarySignature } from './support/helpers.js';

const PASS = 'interop-pass-1';
const ALL_ROLES_ENV = {
  NOTARY_ROOT_PASSPHRASE: PASS,
  NOTARY_TARGETS_PASSPHRASE: PASS,
  NOTARY_SNAPSHOT_PASSPHRASE: PASS,
  NOTARY_DELEGATION_PASSPHRASE: PASS,
};

/** Matches a rejected notary run by its combined output (notary prints fatal errors on stdout). */
const failedWith = (re: RegExp) => (e: unknown): boolean => {
  const { stdout = '', stderr = '' } = e as { stdout?: string; stderr?: string };
  assert.match(stdout + stderr, re);
  return true;
};

function keyListRows(stdout: string): string[][] {
  return stdout.split('\n').filter((l) => /[0-9a-f]{64}/.test(l)).map((l) => l.trim().split(/\s+/));
}

describe('signet → notary', { skip: !HAS_NOTARY && 'notary binary not installed' }, () => {
  test('notary lists signet-written keys with their roles and guns, and decrypts every algorithm', async () => {
    const dir = tempDir();
    const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever(PASS) });
    const t = await store.generate({ role: 'targets', gun: 'example.com/app' });
    const s = await store.generate({ role: 'snapshot', gun: 'example.com/app', algorithm: 'ed25519' });
    const r = await store.generate({ role: 'root', algorithm: 'rsa', rsaBits: 2048 });
    const d = await store.generate({ role: 'targets/releases', algorithm: 'ed25519' });
    assertTrustDirSafe(dir);
    const rows = keyListRows((await notary(dir, ['key', 'list'])).stdout);
    const priv = path.join(dir, 'private');
    assert.deepEqual(rows.sort(), [
      ['targets', 'example.com/app', t.id, priv],
      ['snapshot', 'example.com/app', s.id, priv],
      ['root', r.id, priv],
      ['targets/releases', d.id, priv],
    ].sort());
    for (const id of [t.id, s.id, r.id, d.id]) {
      const out = await notary(dir, ['key', 'passwd', id], ALL_ROLES_ENV);
      assert.match(out.stdout, new RegExp(`Successfully updated passphrase for key ID: ${id}`));
    }
    // ...and we read notary's rewrite of our files.
    const fresh = new FileKeyStore(dir, { retriever: constantPassphraseRetriever(PASS) });
    for (const pub of [t, s, r, d]) {
      const sig = await (await fresh.getSigner(pub.id)).sign(Buffer.from('x'));
      assert.ok(verifyNotarySignature(createPublicKey({ key: pub.spki!, format: 'der', type: 'spki' }), Buffer.from('x'), sig));
    }
  });

  test('notary refuses a wrong passphrase for a signet-written key (the encryption is really keyed by it)', async () => {
    const dir = tempDir();
    const t = await new FileKeyStore(dir, { retriever: constantPassphraseRetriever(PASS) }).generate({ role: 'targets/x' });
    await assert.rejects(notary(dir, ['key', 'passwd', t.id], { NOTARY_DELEGATION_PASSPHRASE: 'not-it' }), failedWith(/could not retrieve local key/));
  });

  test('an unencrypted signet export imported by notary ends up as the same key', async () => {
    const src = new FileKeyStore(tempDir(), { retriever: constantPassphraseRetriever(PASS) });
    const pub = await src.generate({ role: 'targets/releases' });
    const exportFile = path.join(tempDir(), 'export.pem');
    fs.writeFileSync(exportFile, await src.exportPem(pub.id, { unencrypted: true }), { mode: 0o600 });
    const dst = tempDir();
    await notary(dst, ['key', 'import', exportFile], ALL_ROLES_ENV);
    assert.deepEqual(keyListRows((await notary(dst, ['key', 'list'])).stdout), [['targets/releases', pub.id, path.join(dst, 'private')]]);
    await new FileKeyStore(dst, { retriever: constantPassphraseRetriever(PASS) }).getSigner(pub.id);
  });

  test('measured: node:crypto\'s own encrypted PKCS#8 (PRF hmacWithSHA256) is unreadable for notary, which is why we encode PBES2 ourselves', async () => {
    const dir = tempDir();
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const id = publicKeyFromKeyObject(key).id;
    const pem = (key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: PASS }) as string).replace('-----\n', '-----\nrole: targets/x\n\n');
    fs.mkdirSync(path.join(dir, 'private'), { mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'private', `${id}.key`), pem, { mode: 0o600 });
    await assert.rejects(notary(dir, ['key', 'passwd', id], ALL_ROLES_ENV), failedWith(/could not retrieve local key/));
    await new FileKeyStore(dir, { retriever: constantPassphraseRetriever(PASS) }).getSigner(id); // we read it
  });
});

describe('notary → signet', { skip: !HAS_NOTARY && 'notary binary not installed' }, () => {
  test('keys notary generates are listed and unlocked', async () => {
    const dir = tempDir();
    const gen = async (role: string): Promise<string> => /keyID: ([0-9a-f]{64})/.exec((await notary(dir, ['key', 'generate', '--role', role], ALL_ROLES_ENV)).stdout)![1]!;
    const root = await gen('root');
    const del = await gen('targets/foo');
    const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever(PASS) });
    assert.deepEqual((await store.list()).map((k) => [k.keyId, k.role, k.gun]).sort(), [[root, 'root', undefined], [del, 'targets/foo', undefined]].sort());
    for (const id of [root, del]) assert.equal((await store.getSigner(id)).publicKey.id, id);
  });

  test('openssl keys imported by notary (re-encrypted by it) are unlocked under the IDs notary chose', async () => {
    const dir = tempDir();
    await notary(dir, ['key', 'import', fixture('delegate-keys', 'releases.key'), '--role', 'targets/releases'], ALL_ROLES_ENV);
    await notary(dir, ['key', 'import', fixture('delegate-keys', 'jenkins.key'), '--role', 'targets', '--gun', 'example.com/app'], ALL_ROLES_ENV);
    const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever(PASS) });
    const listed = await store.list();
    assert.deepEqual(listed.map((k) => [k.role, k.gun]).sort(), [['targets', 'example.com/app'], ['targets/releases', undefined]]);
    for (const k of listed) {
      const signer = await store.getSigner(k.keyId);
      assert.equal(signer.publicKey.id, k.keyId);
    }
    // The same files imported by signet get the same names.
    const ours = tempDir();
    const s2 = new FileKeyStore(ours, { retriever: constantPassphraseRetriever(PASS) });
    await s2.importPem(fs.readFileSync(fixture('delegate-keys', 'releases.key')), { role: 'targets/releases' });
    await s2.importPem(fs.readFileSync(fixture('delegate-keys', 'jenkins.key')), { role: 'targets', gun: 'example.com/app' });
    assert.deepEqual(fs.readdirSync(path.join(ours, 'private')).sort(), fs.readdirSync(path.join(dir, 'private')).sort());
    assertTrustDirSafe(ours);
  });
});

// SPDX-License-Identifier: Apache-2.0
// Legacy trust_dir layouts and pre-0.6 key blocks, built with openssl (and,
// for ED25519 blocks, with an openssl-derived key), read in place; compared
// with what the real notary makes of the same directory when it migrates it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createCipheriv, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { FileKeyStore } from '../../keys/file-store.js';
import { parseKeyFile, unlockKeyFile } from '../../keys/key-file.js';
import { envPassphraseRetriever } from '../../keys/passphrase.js';
import { assertRejectsCode, assertTrustDirSafe, HAS_NOTARY, notary, openssl, tempDir, verifyNotarySignature } from './support/helpers.js';

const ENV = {
  NOTARY_ROOT_PASSPHRASE: 'legacy-root-pass',
  NOTARY_TARGETS_PASSPHRASE: 'legacy-targets-pass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'legacy-snapshot-pass',
};

const ecPem = (): string => openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout']).toString();

/** OpenSSL "traditional" encryption of a SEC1/PKCS#1 key, as Go's x509.EncryptPEMBlock writes it. */
function opensslTraditional(kind: 'ec' | 'rsa', pem: string, cipherFlag: string, pass: string): string {
  return openssl([kind, cipherFlag, ...(kind === 'rsa' ? ['-traditional'] : []), '-passout', `pass:${pass}`], pem).toString();
}

/** The AES-256 key OpenSSL (EVP_BytesToKey, MD5, salt = IV[0..8]) derives for a traditional PEM block. */
function opensslPemKey(iv: Buffer, pass: string): Buffer {
  const out = openssl(['enc', '-aes-256-cbc', '-md', 'md5', '-S', iv.subarray(0, 8).toString('hex'), '-pass', `pass:${pass}`, '-P']).toString();
  return Buffer.from(/key=([0-9A-F]+)/.exec(out)![1]!, 'hex');
}

/** A pre-0.6 `ED25519 PRIVATE KEY` block (public‖seed‖public), encrypted with the key openssl derives from the passphrase. */
function ed25519Block(key: KeyObject, pass?: string): string {
  const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12);
  const seed = key.export({ format: 'der', type: 'pkcs8' }).subarray(16);
  const body = Buffer.concat([pub, seed, pub]);
  const b64 = (b: Buffer): string => b.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n');
  if (pass === undefined) return `-----BEGIN ED25519 PRIVATE KEY-----\n${b64(body)}-----END ED25519 PRIVATE KEY-----\n`;
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', opensslPemKey(iv, pass), iv);
  const enc = Buffer.concat([c.update(body), c.final()]);
  return `-----BEGIN ED25519 PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,${iv.toString('hex').toUpperCase()}\n\n${b64(enc)}-----END ED25519 PRIVATE KEY-----\n`;
}

interface Planted { id: string; role: string; gun?: string; path: string; key: KeyObject }

/** A trust dir holding only legacy-layout files; returns what was planted. */
function legacyTrustDir(): { dir: string; planted: Planted[] } {
  const dir = tempDir();
  const planted: Planted[] = [];
  const plant = (rel: string[], role: string, gun: string | undefined, text: string, key: KeyObject): void => {
    const id = publicKeyFromKeyObject(key).id;
    const p = path.join(dir, 'private', ...rel.slice(0, -1), rel[rel.length - 1]!.replace('ID', id));
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
    fs.writeFileSync(p, text, { mode: 0o600 });
    planted.push({ id, role, ...(gun === undefined ? {} : { gun }), path: p, key });
  };
  const rootPem = opensslTraditional('ec', ecPem(), '-aes256', ENV.NOTARY_ROOT_PASSPHRASE);
  plant(['root_keys', 'ID_root.key'], 'root', undefined, rootPem, createPrivateKey({ key: rootPem, passphrase: ENV.NOTARY_ROOT_PASSPHRASE }));
  const rsaPem = opensslTraditional('rsa', openssl(['genrsa', '2048']).toString(), '-des3', ENV.NOTARY_TARGETS_PASSPHRASE);
  assert.match(rsaPem, /DEK-Info: DES-EDE3-CBC,/);
  plant(['tuf_keys', 'example.com', 'app', 'ID_targets.key'], 'targets', 'example.com/app', rsaPem, createPrivateKey({ key: rsaPem, passphrase: ENV.NOTARY_TARGETS_PASSPHRASE }));
  const ed = generateKeyPairSync('ed25519').privateKey;
  plant(['tuf_keys', 'example.com', 'app', 'ID_snapshot.key'], 'snapshot', 'example.com/app', ed25519Block(ed, ENV.NOTARY_SNAPSHOT_PASSPHRASE), ed);
  const plainEc = ecPem();
  plant(['tuf_keys', 'example.com', 'other', 'ID_timestamp.key'], 'timestamp', 'example.com/other', plainEc, createPrivateKey(plainEc));
  return { dir, planted };
}

const plantedPaths = (dir: string, planted: Planted[]): string[] => [...planted.map((p) => p.path), ...['root_keys', 'tuf_keys', 'tuf_keys/example.com', 'tuf_keys/example.com/app', 'tuf_keys/example.com/other'].map((d) => path.join(dir, 'private', d))];

describe('legacy key blocks', () => {
  test('traditional-encrypted EC (AES-256) and RSA (DES-EDE3) from openssl, and ED25519 blocks, decrypt; wrong passphrases do not', () => {
    const { planted } = legacyTrustDir();
    const pass: Record<string, string> = { root: ENV.NOTARY_ROOT_PASSPHRASE, targets: ENV.NOTARY_TARGETS_PASSPHRASE, snapshot: ENV.NOTARY_SNAPSHOT_PASSPHRASE, timestamp: '' };
    for (const p of planted) {
      const file = parseKeyFile(fs.readFileSync(p.path), p.path);
      const key = unlockKeyFile(file, pass[p.role]!, p.path);
      assert.ok(key, p.path);
      assert.equal(publicKeyFromKeyObject(key).id, p.id);
      if (p.role !== 'timestamp') assert.equal(unlockKeyFile(file, 'wrong-pass', p.path), null, p.path);
    }
  });

  test('bad PKCS#7 padding under the right key counts as a wrong passphrase (Go checks every padding byte)', () => {
    const key = generateKeyPairSync('ed25519').privateKey;
    const pub = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(12);
    const body = Buffer.concat([pub, key.export({ format: 'der', type: 'pkcs8' }).subarray(16), pub]);
    const iv = randomBytes(16);
    const c = createCipheriv('aes-256-cbc', opensslPemKey(iv, 'pw'), iv).setAutoPadding(false);
    const badPad = Buffer.concat([Buffer.alloc(15, 0x01), Buffer.from([0x10])]); // claims 16 padding bytes, holds 1s
    const enc = Buffer.concat([c.update(Buffer.concat([body, badPad])), c.final()]);
    const text = `-----BEGIN ED25519 PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,${iv.toString('hex')}\n\n${enc.toString('base64')}\n-----END ED25519 PRIVATE KEY-----\n`;
    assert.equal(unlockKeyFile(parseKeyFile(Buffer.from(text), 'x'), 'pw', 'x'), null);
  });

  test('an unencrypted ED25519 block with mismatched halves is KEY_FILE_INVALID', () => {
    const text = ed25519Block(generateKeyPairSync('ed25519').privateKey);
    const b64 = text.split('\n').slice(1, -2).join('');
    const body = Buffer.from(b64, 'base64');
    body[0]! ^= 1;
    assert.throws(() => parseKeyFile(Buffer.from(`-----BEGIN ED25519 PRIVATE KEY-----\n${body.toString('base64')}\n-----END ED25519 PRIVATE KEY-----\n`), '/x.key'), /\/x\.key.*public key does not belong/);
  });
});

describe('legacy layouts in a FileKeyStore', () => {
  test('root_keys/ and tuf_keys/<gun>/ files are listed with role and gun from their paths and sign in place', async () => {
    const { dir, planted } = legacyTrustDir();
    const store = new FileKeyStore(dir, { retriever: envPassphraseRetriever(ENV) });
    const listed = await store.list();
    assert.deepEqual(
      listed.map((k) => [k.keyId, k.role, k.gun, k.location]).sort(),
      planted.map((p) => [p.id, p.role, p.gun, p.path]).sort(),
    );
    for (const p of planted) {
      const sig = await (await store.getSigner(p.id)).sign(Buffer.from('data'));
      assert.ok(verifyNotarySignature(p.key, Buffer.from('data'), sig), p.role);
    }
    assertTrustDirSafe(dir, plantedPaths(dir, planted));
  });

  test('a wrong passphrase on a legacy file is PASSPHRASE_WRONG', async () => {
    const { dir, planted } = legacyTrustDir();
    const store = new FileKeyStore(dir, { retriever: envPassphraseRetriever({ NOTARY_ROOT_PASSPHRASE: 'wrong' }) });
    await assertRejectsCode(store.getSigner(planted.find((p) => p.role === 'root')!.id), 'PASSPHRASE_WRONG');
  });

  test('changePassphrase moves a legacy key into private/<id>.key with role/gun headers and deletes the old file', async () => {
    const { dir, planted } = legacyTrustDir();
    const t = planted.find((p) => p.role === 'targets')!;
    const store = new FileKeyStore(dir, { retriever: envPassphraseRetriever(ENV) });
    await store.changePassphrase(t.id);
    assert.equal(fs.existsSync(t.path), false);
    const moved = fs.readFileSync(path.join(dir, 'private', `${t.id}.key`), 'utf8');
    assert.match(moved, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com\/app\nrole: targets\n\n/);
    assertTrustDirSafe(dir, plantedPaths(dir, planted));
    assert.equal((await store.list()).find((k) => k.keyId === t.id)!.location, path.join(dir, 'private', `${t.id}.key`));
    if (HAS_NOTARY) assert.match((await notary(dir, ['key', 'list'])).stdout, new RegExp(`targets\\s+example.com/app\\s+${t.id}`));
  });

  test('a current-layout copy shadows the legacy one', async () => {
    const { dir, planted } = legacyTrustDir();
    const r = planted.find((p) => p.role === 'root')!;
    const store = new FileKeyStore(dir, { retriever: envPassphraseRetriever(ENV) });
    await store.changePassphrase(r.id);
    fs.writeFileSync(r.path, fs.readFileSync(path.join(dir, 'private', `${r.id}.key`)), { mode: 0o600 }); // an old tool re-creates it
    assert.equal((await store.list()).filter((k) => k.keyId === r.id).length, 1);
    await store.remove(r.id);
    assert.equal(fs.existsSync(r.path), false, 'remove deletes every copy');
  });

  test('notary\'s own migration of the same directory yields the same keys, roles and guns, which we read', { skip: !HAS_NOTARY && 'notary binary not installed' }, async () => {
    const { dir, planted } = legacyTrustDir();
    await notary(dir, ['key', 'list']); // notary 0.7 migrates legacy layouts at start-up
    assert.equal(fs.existsSync(path.join(dir, 'private', 'root_keys')), false);
    assert.equal(fs.existsSync(path.join(dir, 'private', 'tuf_keys')), false);
    const store = new FileKeyStore(dir, { retriever: envPassphraseRetriever(ENV) });
    const listed = await store.list();
    assert.deepEqual(listed.map((k) => [k.keyId, k.role, k.gun]).sort(), planted.map((p) => [p.id, p.role, p.gun]).sort());
    for (const p of planted) await store.getSigner(p.id);
  });
});

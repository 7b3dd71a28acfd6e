// SPDX-License-Identifier: Apache-2.0
// Defences the normal store paths never exercise: the writer's refusal of
// plaintext, the key-pair consistency check, and limits on hostile files.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { int, octets, oid, seq } from '../../shared/crypto/der-tlv.js';
import { FileKeyStore } from '../../keys/file-store.js';
import { encodeEncryptedKeyFile, parseKeyFile } from '../../keys/key-file.js';
import { constantPassphraseRetriever } from '../../keys/passphrase.js';
import { fileInTheWay, FileInTheWayError, writeKeyFileAtomic } from '../../keys/trust-dir.js';
import { TrustDirError } from '../../shared/errors.js';
import { assertRejectsCode, tempDir } from './support/helpers.js';

describe('defences that the normal paths never exercise', () => {
  test('the writer refuses anything but an encrypted key, so no path can put plaintext on disk', async () => {
    const dir = tempDir();
    const plain = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    await assertRejectsCode(writeKeyFileAtomic(path.join(dir, 'private', 'x.key'), plain), 'KEY_FILE_INVALID', 'only encrypted key files');
    assert.equal(fs.existsSync(path.join(dir, 'private', 'x.key')), false);
  });

  test('a key file whose private half does not match its public half is refused by the store', async () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'sec1' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'sec1' });
    const mixed = createPrivateKey({ key: Buffer.concat([a.subarray(0, a.length - 65), b.subarray(b.length - 65)]), format: 'der', type: 'sec1' });
    const id = publicKeyFromKeyObject(mixed).id; // the victim's ID, taken from the public point
    const dir = tempDir();
    await writeKeyFileAtomic(path.join(dir, 'private', `${id}.key`), encodeEncryptedKeyFile(mixed, 'targets/x', undefined, 'pw'));
    await assertRejectsCode(new FileKeyStore(dir, { retriever: constantPassphraseRetriever('pw') }).getSigner(id), 'KEY_FILE_INVALID', 'does not match');
  });

  test('oversized key files and absurd PBKDF2 iteration counts are refused without work', async () => {
    const dir = tempDir();
    const big = 'aa'.repeat(32);
    fs.mkdirSync(path.join(dir, 'private'), { mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'private', `${big}.key`), Buffer.alloc(70_000, 0x41), { mode: 0o600 });
    const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever('pw') });
    await assertRejectsCode(store.getSigner(big), 'KEY_FILE_INVALID', 'too large');
    // A well-formed PBES2 structure asking for 2^31-1 PBKDF2 iterations: hours of work if obeyed.
    const patched = seq(
      seq(oid('1.2.840.113549.1.5.13'), seq(seq(oid('1.2.840.113549.1.5.12'), seq(octets(Buffer.alloc(8)), int(0x7fffffff))), seq(oid('2.16.840.1.101.3.4.1.42'), octets(Buffer.alloc(16))))),
      octets(Buffer.alloc(32)),
    );
    const start = Date.now();
    assert.throws(() => parseKeyFile(Buffer.from(`-----BEGIN ENCRYPTED PRIVATE KEY-----\n${patched.toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`), '/x.key'), /iteration count 2147483647 is out of range/);
    assert.ok(Date.now() - start < 1000);
  });
});

describe('a file where the trust dir needs a directory, or a directory where it needs a file', () => {
  const inTheWay = (p: string, expected: 'directory' | 'file') => (e: unknown) =>
    e instanceof FileInTheWayError && e instanceof TrustDirError && e.path === p && e.expected === expected && /move it away \(rename or remove it\) and retry/.test(e.message) && e.message.includes(p);

  test('private/ as a regular file: generating a key names it, not a raw EEXIST', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'private'), 'in the way');
    const store = new FileKeyStore(dir, { retriever: constantPassphraseRetriever('pw-123456') });
    await assert.rejects(store.generate({ role: 'targets/x', algorithm: 'ecdsa' }), inTheWay(path.join(dir, 'private'), 'directory'));
    await assert.rejects(store.generate({ role: 'targets/x', algorithm: 'ecdsa' }), /is not a directory, but signet needs a directory there \(EEXIST\)/);
  });

  test('a file above the directory (ENOTDIR) is the one named', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'private'), 'in the way');
    const store = new FileKeyStore(path.join(dir, 'private', 'nested'), { retriever: constantPassphraseRetriever('pw-123456') });
    await assert.rejects(store.generate({ role: 'targets/x', algorithm: 'ecdsa' }), inTheWay(path.join(dir, 'private'), 'directory'));
  });

  test('a key file path taken by a directory is named as a directory where a file must be', async () => {
    const dir = tempDir();
    const dest = path.join(dir, 'private', `${'ab'.repeat(32)}.key`);
    fs.mkdirSync(dest, { recursive: true });
    const pem = encodeEncryptedKeyFile(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'targets/x', undefined, 'pw');
    await assert.rejects(writeKeyFileAtomic(dest, pem), inTheWay(dest, 'file'));
    await assert.rejects(writeKeyFileAtomic(dest, pem), /is a directory, but signet needs a file there/);
  });

  test('fileInTheWay leaves other failures alone', () => {
    const dir = tempDir();
    assert.equal(fileInTheWay(dir, 'directory', Object.assign(new Error('x'), { code: 'EACCES' }), 'write'), undefined);
    assert.equal(fileInTheWay(dir, 'directory', Object.assign(new Error('x'), { code: 'EEXIST' }), 'write'), undefined, 'the directory is a directory: nothing in the way');
  });
});

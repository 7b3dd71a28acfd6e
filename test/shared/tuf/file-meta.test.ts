// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { LengthOrHashMismatchError } from '../../../shared/errors.js';
import { roleMetaFromBytes, verifyLengthAndHashes } from '../../../shared/tuf/file-meta.js';
import type { FileMeta } from '../../../shared/tuf/model.js';
import { fixture } from '../../support/paths.js';
import fs from 'node:fs';

const snapshotBytes = fs.readFileSync(fixture('server', 'snapshot.json'));
const meta = roleMetaFromBytes(snapshotBytes);

function rejects(bytes: Uint8Array, m: FileMeta, code: 'HASH_MISMATCH' | 'LENGTH_MISMATCH', why?: RegExp): void {
  assert.throws(
    () => verifyLengthAndHashes(bytes, m, 'snapshot'),
    (e: unknown) => e instanceof LengthOrHashMismatchError && e.code === code && (why === undefined || why.test(e.message)),
  );
}

describe('roleMetaFromBytes', () => {
  test('length and both hashes of the exact bytes, as in the fixture timestamp', () => {
    assert.equal(meta.length, 1085);
    assert.equal(meta.hashes.get('sha256')!.toString('base64'), 'NVuKM8F1U7M/IjBlaV28kkE0uglRkanqlElpRcKC0wA=');
    assert.ok(meta.hashes.get('sha512')!.equals(createHash('sha512').update(snapshotBytes).digest()));
    assert.deepEqual([...meta.hashes.keys()], ['sha256', 'sha512']);
  });
});

describe('verifyLengthAndHashes', () => {
  test('the exact bytes pass', () => {
    verifyLengthAndHashes(snapshotBytes, meta, 'snapshot');
  });
  test('longer bytes fail the length cap (LENGTH_MISMATCH)', () => {
    rejects(Buffer.concat([snapshotBytes, Buffer.from('\n')]), meta, 'LENGTH_MISMATCH', /1086 bytes, more than the 1085/);
  });
  test('length is a maximum: shorter bytes pass the length check and fail the hash check', () => {
    rejects(snapshotBytes.subarray(0, 1000), meta, 'HASH_MISMATCH');
    verifyLengthAndHashes(Buffer.from('abc'), { length: 100, hashes: new Map([['sha256', createHash('sha256').update('abc').digest()]]) }, 'snapshot');
  });
  test('one flipped byte fails', () => {
    const b = Buffer.from(snapshotBytes);
    b[10] = b[10]! ^ 1;
    rejects(b, meta, 'HASH_MISMATCH', /sha256/);
  });
  test('every recognised hash present must match: a bad sha512 beside a good sha256 fails', () => {
    const m: FileMeta = { length: meta.length, hashes: new Map([['sha256', meta.hashes.get('sha256')!], ['sha512', Buffer.alloc(64)]]) };
    rejects(snapshotBytes, m, 'HASH_MISMATCH', /sha512/);
  });
  test('sha512 alone is enough', () => {
    verifyLengthAndHashes(snapshotBytes, { length: meta.length, hashes: new Map([['sha512', meta.hashes.get('sha512')!]]) }, 'snapshot');
  });
  test('at least one recognised hash is required; unknown names are ignored', () => {
    rejects(snapshotBytes, { length: meta.length, hashes: new Map() }, 'HASH_MISMATCH', /no sha256 or sha512/);
    rejects(snapshotBytes, { length: meta.length, hashes: new Map([['md5', createHash('md5').update(snapshotBytes).digest()]]) }, 'HASH_MISMATCH', /no sha256 or sha512/);
    rejects(snapshotBytes, { length: meta.length, hashes: new Map([['constructor', Buffer.alloc(32)]]) }, 'HASH_MISMATCH', /no sha256 or sha512/);
  });
  test('a recorded digest of the wrong size never matches (and does not throw a RangeError)', () => {
    rejects(snapshotBytes, { length: meta.length, hashes: new Map([['sha256', meta.hashes.get('sha256')!.subarray(0, 31)]]) }, 'HASH_MISMATCH');
  });
  test('no length recorded (TUF 1.0 meta): only hashes are checked', () => {
    verifyLengthAndHashes(snapshotBytes, { hashes: meta.hashes }, 'snapshot');
  });
});

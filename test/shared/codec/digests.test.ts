// SPDX-License-Identifier: Apache-2.0
// Parsed digests are kept as their base64 text and decoded on use: they must
// read like the Map of decoded bytes they stand for, and be written back as
// the same text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Base64Digests } from '../../../shared/codec/digests.js';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { DeserializationError } from '../../../shared/errors.js';
import type { Targets } from '../../../shared/tuf/model.js';

const sha256 = createHash('sha256').update('a').digest();
const sha512 = createHash('sha512').update('a').digest();

test('reads like the map of decoded digests', () => {
  const d = new Base64Digests(new Map([['sha256', sha256.toString('base64')], ['sha512', sha512.toString('base64')]]));
  const plain = new Map([['sha256', sha256], ['sha512', sha512]]);
  assert.equal(d.size, 2);
  assert.ok(d.has('sha256') && !d.has('md5'));
  assert.deepEqual(d.get('sha512'), sha512);
  assert.equal(d.get('md5'), undefined);
  assert.equal(d.get('sha256'), d.get('sha256'), 'decoded once, then the same bytes');
  assert.deepEqual(new Map(d), plain);
  assert.deepEqual([...d.keys()], [...plain.keys()]);
  assert.deepEqual([...d.values()], [...plain.values()]);
  const seen: string[] = [];
  d.forEach((bytes, alg, map) => {
    assert.equal(map, d);
    assert.deepEqual(bytes, plain.get(alg));
    seen.push(alg);
  });
  assert.deepEqual(seen, ['sha256', 'sha512']);
});

test('a parsed target keeps its digest text, decodes it on use, and writes it back unchanged', () => {
  const text = sha256.toString('base64');
  const file = Buffer.from(`{"signed":{"_type":"Targets","delegations":{"keys":{},"roles":[]},"expires":"2030-01-01T00:00:00Z","targets":{"a":{"hashes":{"sha256":"${text}"},"length":1}},"version":1},"signatures":[]}`);
  const env = notaryCodec.parse(file, 'targets');
  const hashes = (env.signed as Targets).targets.get('a')!.hashes;
  assert.ok(hashes instanceof Base64Digests);
  assert.deepEqual(hashes.get('sha256'), sha256);
  assert.ok(notaryCodec.encode(notaryCodec.toSignedTree(env.signed), []).equals(file));
});

test('parsing still refuses a digest of the wrong size or a non-canonical spelling', () => {
  const doc = (digest: string) => Buffer.from(`{"signed":{"_type":"Targets","delegations":{"keys":{},"roles":[]},"expires":"2030-01-01T00:00:00Z","targets":{"a":{"hashes":{"sha256":"${digest}"},"length":1}},"version":1},"signatures":[]}`);
  assert.throws(() => notaryCodec.parse(doc(sha512.toString('base64')), 'targets'), (e: unknown) => e instanceof DeserializationError && /sha256 digest must be 32 bytes, got 64/.test(e.message));
  const t = sha256.toString('base64'); // 44 chars, one '=' after a character whose two low bits are zero
  const loose = `${t.slice(0, 42)}${String.fromCharCode(t.charCodeAt(42) + 1)}=`;
  assert.throws(() => notaryCodec.parse(doc(loose), 'targets'), (e: unknown) => e instanceof DeserializationError && /not canonical base64/.test(e.message));
  assert.throws(() => notaryCodec.parse(doc(`${t.slice(0, 43)}-`), 'targets'), (e: unknown) => e instanceof DeserializationError && /not padded standard base64/.test(e.message));
});

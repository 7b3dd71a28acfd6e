// SPDX-License-Identifier: Apache-2.0
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { canonicalKeyId, makeNotaryPublicKey, publicKeyFromKeyObject } from '../../../shared/codec/notary-keys.js';
import { fixture } from '../../support/paths.js';

interface KeyRec { key_id: string; keytype: string; canonical_key_id: string }
const derived = JSON.parse(fs.readFileSync(fixture('derived', 'ids-and-hashes.json'), 'utf8')) as { root_keys: KeyRec[]; delegation_keys: KeyRec[] };
const root = JSON.parse(fs.readFileSync(fixture('server', 'root.json'), 'utf8')) as { signed: { keys: Record<string, { keytype: string; keyval: { public: string } }> } };
const targets = JSON.parse(fs.readFileSync(fixture('server', 'targets.json'), 'utf8')) as { signed: { delegations: { keys: Record<string, { keytype: string; keyval: { public: string } }> } } };

test('key IDs and canonical key IDs match what notary computed for every fixture key', () => {
  const all = { ...root.signed.keys, ...targets.signed.delegations.keys };
  const expected = [...derived.root_keys, ...derived.delegation_keys];
  assert.ok(expected.length >= 6);
  for (const rec of expected) {
    const wire = all[rec.key_id];
    assert.ok(wire, rec.key_id);
    const key = makeNotaryPublicKey(wire.keytype, wire.keyval.public);
    assert.equal(key.id, rec.key_id);
    assert.equal(canonicalKeyId(key), rec.canonical_key_id);
  }
});

test('the documented timestamp key ID example', () => {
  const k = makeNotaryPublicKey('ed25519', 'ZFwfdAME3Fr4yjdQIjXLtppX+/EUj3h7/b2+CG4jmYA=');
  assert.equal(k.id, 'bc6c98c0c20e10a9ee2dd001416adcd38bf9d4cda5402a13095921acb2977330');
});

test('a key object round-trips to the same key ID as its wire form', () => {
  for (const [type, opts] of [['ed25519', {}], ['ec', { namedCurve: 'P-256' }], ['rsa', { modulusLength: 2048 }]] as const) {
    const { publicKey } = generateKeyPairSync(type as 'ec', opts as { namedCurve: string });
    const k = publicKeyFromKeyObject(publicKey);
    assert.equal(makeNotaryPublicKey(k.keyType, k.publicValue).id, k.id);
    assert.equal(canonicalKeyId(k), k.id);
  }
});

test('unpadded or non-canonical base64 is refused', () => {
  assert.throws(() => makeNotaryPublicKey('ed25519', 'ZFwfdAME3Fr4yjdQIjXLtppX+/EUj3h7/b2+CG4jmYA'), /padded standard base64/);
  assert.throws(() => makeNotaryPublicKey('ed25519', 'ZFwfdAME3Fr4yjdQIjXLtppX+/EUj3h7/b2+CG4jmYB='), /canonical base64/);
});

test('one shared, frozen PublicKey per wire form; bad values throw every time', () => {
  const a = makeNotaryPublicKey('ed25519', 'ZFwfdAME3Fr4yjdQIjXLtppX+/EUj3h7/b2+CG4jmYA=');
  const b = makeNotaryPublicKey('ed25519', 'ZFwfdAME3Fr4yjdQIjXLtppX+/EUj3h7/b2+CG4jmYA=');
  assert.equal(a, b);
  assert.ok(Object.isFrozen(a));
  assert.notEqual(makeNotaryPublicKey('ecdsa', publicKeyFromKeyObject(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey).publicValue), a);
  for (let i = 0; i < 2; i++) assert.throws(() => makeNotaryPublicKey('ed25519', 'AAAA'), /32 bytes/);
});

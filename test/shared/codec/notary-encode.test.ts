// SPDX-License-Identifier: Apache-2.0
// Writing: toSignedTree follows Go's field rules, encode writes Go's bytes
// (HTML escaping outside the signed bytes), and what Go cannot write is refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { goJsonString } from '../../../shared/codec/notary-write.js';
import { publicKeyFromKeyObject } from '../../../shared/codec/notary-keys.js';
import { DeserializationError, SerializationError } from '../../../shared/errors.js';
import { canonicalize } from '../../../shared/json/canonical.js';
import type { Root, Signature, TargetFile, Targets, Timestamp } from '../../../shared/tuf/model.js';
import { roleMetaFromBytes } from '../../../shared/tuf/file-meta.js';
import { parseExpires } from '../../../shared/time.js';
import { readFixture } from './notary-helpers.js';

const expires = parseExpires('2030-01-01T00:00:00Z', 'expires');
const digest = (n: number): Map<string, Buffer> => new Map([['sha256', Buffer.alloc(32, n)]]);
const sig: Signature = { keyId: 'ab'.repeat(32), method: 'ecdsa', sig: Buffer.alloc(64, 7) };

function targetsWith(targets: Targets['targets'], delegations: Targets['delegations'] = null): Targets {
  return { type: 'targets', version: 3, expires, targets, delegations };
}

describe('HTML escaping: stored bytes differ from signed bytes', () => {
  const name = 'lt<gt>amp&\u2028x';
  const model = targetsWith(new Map([[name, { length: 5, hashes: digest(1), custom: { 'a<b': 'x&y\u2029', n: 1 } }]]));
  const tree = notaryCodec.toSignedTree(model);
  const file = notaryCodec.encode(tree, [sig]);
  const signed = notaryCodec.signedBytes(tree);
  const text = file.toString('utf8');

  test('the file escapes <, >, &, U+2028 and U+2029 as Go does', () => {
    assert.ok(text.includes('"lt\\u003cgt\\u003eamp\\u0026\\u2028x"'));
    assert.ok(text.includes('"a\\u003cb":"x\\u0026y\\u2029"'));
    assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
    assert.ok(!text.endsWith('\n'));
    assert.match(text, /^\{"signed":\{"_type":"Targets",.*\},"signatures":\[\{"keyid":"(ab)+","method":"ecdsa","sig":"[A-Za-z0-9+/]+=*"\}\]\}$/);
  });

  test('the signed bytes hold the raw characters, so they are not a substring of the file', () => {
    const s = signed.toString('utf8');
    assert.ok(s.includes(`"${name}"`));
    assert.ok(s.includes('"a<b":"x&y\u2029"'));
    assert.equal(file.indexOf(signed), -1);
  });

  test('parse -> encode keeps both the stored bytes and the signed bytes', () => {
    const env = notaryCodec.parseAny(file);
    assert.ok(env.signedBytes!.equals(signed));
    assert.ok(notaryCodec.encode(env.signedTree, env.signatures).equals(file));
    assert.ok(notaryCodec.encode(notaryCodec.toSignedTree(env.signed), env.signatures).equals(file));
    assert.deepEqual((env.signed as Targets).targets.get(name)!.custom, { 'a<b': 'x&y\u2029', n: 1 });
  });
});

describe('draft: one canonicalisation for the signature and the file', () => {
  const model = targetsWith(new Map([['lt<gt>', { length: 5, hashes: digest(1) }], ['é/😀', { length: 2, hashes: digest(2) }]]));

  test('its signed bytes and file equal signedBytes and encode of the same tree', () => {
    const draft = notaryCodec.draft(model);
    const tree = notaryCodec.toSignedTree(model);
    assert.deepEqual(draft.signedTree, tree);
    assert.ok(draft.signedBytes.equals(notaryCodec.signedBytes(tree)));
    assert.ok(draft.encode([sig]).equals(notaryCodec.encode(tree, [sig])));
    assert.ok(draft.encode([]).equals(notaryCodec.encode(tree, [])), 'one draft serves several signature sets');
  });

  test('a body Go cannot write is refused before anything is signed', () => {
    assert.throws(() => notaryCodec.draft(targetsWith(new Map([['a\nb', { length: 1, hashes: digest(2) }]]))), SerializationError);
  });
});

describe('what Go cannot write', () => {
  test('a raw control character in a target name is refused with its path', () => {
    const tree = notaryCodec.toSignedTree(targetsWith(new Map([['a\nb', { length: 1, hashes: digest(2) }]])));
    assert.throws(
      () => notaryCodec.encode(tree, []),
      (e: unknown) => e instanceof SerializationError && e.code === 'CANONICAL_JSON' && e.message.startsWith('signed.targets.a\nb: holds a control character'),
    );
  });
  test('a raw control character in custom data is refused', () => {
    const tree = notaryCodec.toSignedTree(targetsWith(new Map([['ok', { length: 1, hashes: digest(2), custom: { note: ['tab\there'] } }]])));
    assert.throws(() => notaryCodec.encode(tree, []), (e: unknown) => e instanceof SerializationError && e.message.startsWith('signed.targets.ok.custom.note[0]:'));
  });
  test('a target without a length is refused, naming it', () => {
    const model = targetsWith(new Map([['no-length', { hashes: digest(2) } as unknown as TargetFile]]));
    assert.throws(() => notaryCodec.toSignedTree(model), (e: unknown) => e instanceof SerializationError && e.message === 'target "no-length": the Notary format requires a length');
  });
  test('DEL and other non-control characters are fine', () => {
    const tree = notaryCodec.toSignedTree(targetsWith(new Map([['del\u007f/é/😀', { length: 1, hashes: digest(2) }]])));
    const file = notaryCodec.encode(tree, []);
    assert.ok(notaryCodec.parseAny(file).signedBytes!.equals(canonicalize(tree)));
  });
  test('a fraction is refused by encode and signedBytes', () => {
    const tree = { ...notaryCodec.toSignedTree(targetsWith(new Map())), x: 0.5 };
    assert.throws(() => notaryCodec.encode(tree, []), (e: unknown) => e instanceof DeserializationError && e.code === 'CANONICAL_JSON' && e.field === 'signed.x');
    assert.throws(() => notaryCodec.signedBytes(tree), DeserializationError);
  });
});

test('signature strings are written like Go 1.19 json.Marshal', () => {
  assert.equal(goJsonString('a<b>&c'), '"a\\u003cb\\u003e\\u0026c"');
  assert.equal(goJsonString('q"b\\'), '"q\\"b\\\\"');
  assert.equal(goJsonString('\n\r\t\b\f\u0001'), '"\\n\\r\\t\\u0008\\u000c\\u0001"');
  assert.equal(goJsonString('\u2028\u2029é😀'), '"\\u2028\\u2029é😀"');
  assert.equal(goJsonString('x\ud800y'), '"x\\ufffdy"');
  const file = notaryCodec.encode(notaryCodec.toSignedTree(targetsWith(new Map())), [{ ...sig, method: 'rsa<pss>' }]);
  assert.ok(file.toString('utf8').includes('"method":"rsa\\u003cpss\\u003e"'));
});

describe('toSignedTree: Go field rules', () => {
  test('empty targets: targets {} and delegations {"keys":{},"roles":[]}', () => {
    const tree = notaryCodec.toSignedTree(targetsWith(new Map()));
    assert.equal(canonicalize(tree).toString(), '{"_type":"Targets","delegations":{"keys":{},"roles":[]},"expires":"2030-01-01T00:00:00Z","targets":{},"version":3}');
  });

  test('keys carry "private":null; paths omitted when empty; custom omitted when absent; TUF-only fields dropped', () => {
    const key = publicKeyFromKeyObject(generateKeyPairSync('ed25519').publicKey);
    const delegations: Targets['delegations'] = {
      keys: new Map([[key.id, key]]),
      roles: [
        { name: 'targets/a', keyIds: [key.id], threshold: 1, terminating: false },
        { name: 'targets/b', keyIds: [key.id], threshold: 1, terminating: false, paths: [] },
        { name: 'targets/c', keyIds: [key.id], threshold: 1, terminating: true, paths: ['c/', ''], pathHashPrefixes: ['ab'] },
      ],
    };
    const tree = notaryCodec.toSignedTree(targetsWith(new Map([['t', { length: 3, hashes: digest(3) }]]), delegations));
    assert.deepEqual(tree.delegations, {
      keys: { [key.id]: { keytype: 'ed25519', keyval: { private: null, public: key.publicValue } } },
      roles: [
        { keyids: [key.id], name: 'targets/a', threshold: 1 },
        { keyids: [key.id], name: 'targets/b', threshold: 1 },
        { keyids: [key.id], name: 'targets/c', threshold: 1, paths: ['c/', ''] },
      ],
    });
    assert.deepEqual(tree.targets, { t: { hashes: { sha256: Buffer.alloc(32, 3).toString('base64') }, length: 3 } });
    const withNull = notaryCodec.toSignedTree(targetsWith(new Map([['t', { length: 3, hashes: digest(3), custom: null }]])));
    assert.deepEqual(withNull.targets, tree.targets, 'a null custom is dropped, as Go drops it');
  });

  test('expires is written in the form Go re-serialises it to', () => {
    const e = parseExpires('2030-01-01T05:30:00.500000000+00:00', 'expires');
    const tree = notaryCodec.toSignedTree({ ...targetsWith(new Map()), expires: e });
    assert.equal(tree.expires, '2030-01-01T05:30:00.5Z');
    const kolkata = parseExpires('2036-11-20T00:42:46.184581435+05:30', 'expires');
    assert.equal(notaryCodec.toSignedTree({ ...targetsWith(new Map()), expires: kolkata }).expires, '2036-11-20T00:42:46.184581435+05:30');
  });

  test('timestamp meta from bytes: length and both hashes, no custom, no version', () => {
    const ts: Timestamp = { type: 'timestamp', version: 6, expires, meta: new Map([['snapshot', { ...roleMetaFromBytes(readFixture('server/snapshot.json')), version: 7 }]]) };
    const tree = notaryCodec.toSignedTree(ts);
    const fixtureTree = notaryCodec.parse(readFixture('server/timestamp.json'), 'timestamp').signedTree;
    assert.deepEqual(tree.meta, fixtureTree.meta);
  });

  test('meta without a length cannot be written in the Notary format', () => {
    const ts: Timestamp = { type: 'timestamp', version: 1, expires, meta: new Map([['snapshot', { hashes: digest(1) }]]) };
    assert.throws(() => notaryCodec.toSignedTree(ts), SerializationError);
  });

  test('root: consistent_snapshot, keys and roles', () => {
    const env = notaryCodec.parse(readFixture('server/root.json'), 'root');
    const root = env.signed as Root;
    const tree = notaryCodec.toSignedTree({ ...root, consistentSnapshot: true });
    assert.equal(tree.consistent_snapshot, true);
    assert.deepEqual(tree.roles, env.signedTree.roles);
  });
});

describe('parseKey / keyToJson', () => {
  test('round trip keeps the key ID', () => {
    for (const t of ['ed25519', 'ec'] as const) {
      const key = publicKeyFromKeyObject(t === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey : generateKeyPairSync('ed25519').publicKey);
      const json = notaryCodec.keyToJson(key);
      assert.deepEqual(Object.keys(json), ['keytype', 'keyval']);
      assert.equal((json.keyval as { private: null }).private, null);
      assert.equal(notaryCodec.parseKey(json, 'key').id, key.id);
    }
  });
  test('errors name the field given', () => {
    assert.throws(() => notaryCodec.parseKey({ keytype: 'ed25519' }, 'signed.keys.x'), (e: unknown) => e instanceof DeserializationError && e.field === 'signed.keys.x.keyval');
    assert.throws(() => notaryCodec.parseKey({ keytype: 'ed25519', keyval: { public: 'AAAA' } }, 'k'), (e: unknown) => e instanceof DeserializationError && e.field === 'k.keyval.public');
  });
  test('an unknown key type parses as an opaque key', () => {
    const k = notaryCodec.parseKey({ keytype: 'future', keyval: { private: null, public: 'anything' } }, 'k');
    assert.equal(k.algorithm, 'unknown');
  });
});

test('signed trees are built in canonical member order, so canonicalising them needs no re-sort', () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = publicKeyFromKeyObject(publicKey);
  const delegations = { keys: new Map([[key.id, key]]), roles: [{ name: 'targets/b', keyIds: [key.id], threshold: 1, terminating: false, paths: ['x/'] }, { name: 'targets/a', keyIds: [key.id], threshold: 1, terminating: false, paths: [] }] };
  const targets = targetsWith(
    new Map([
      ['zeta', { length: 1, hashes: new Map([['sha512', Buffer.alloc(64, 1)], ['sha256', Buffer.alloc(32, 2)]]), custom: { z: 1, a: 2 } }],
      ['alpha', { length: 2, hashes: digest(3) }],
    ]),
    delegations,
  );
  const root: Root = {
    type: 'root',
    version: 1,
    expires,
    consistentSnapshot: false,
    keys: new Map([[key.id, key]]),
    roles: new Map([['timestamp', { keyIds: [key.id], threshold: 1 }], ['root', { keyIds: [key.id], threshold: 1 }]]),
  };
  const timestamp: Timestamp = { type: 'timestamp', version: 2, expires, meta: new Map([['snapshot', roleMetaFromBytes(Buffer.from('s'))]]) };
  for (const model of [targets, root, timestamp]) {
    const tree = notaryCodec.toSignedTree(model);
    // Only the custom value keeps the caller's order; canonical JSON sorts inside it (checked below).
    const text = JSON.stringify(tree, (k, v: unknown) => (k === 'custom' ? '<custom>' : v));
    const sorted = JSON.stringify(JSON.parse(canonicalize(tree).toString()), (k, v: unknown) => (k === 'custom' ? '<custom>' : v));
    assert.equal(text, sorted, model.type);
  }
  assert.match(canonicalize(notaryCodec.toSignedTree(targets)).toString(), /"custom":\{"a":2,"z":1\},"hashes":\{"sha256":"[^"]+","sha512"/);
});

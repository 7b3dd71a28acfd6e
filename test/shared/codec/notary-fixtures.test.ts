// SPDX-License-Identifier: Apache-2.0
// Every metadata file notary 0.7 produced for the fixtures parses, re-encodes
// to the same bytes, and loses nothing through the model.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, verify } from 'node:crypto';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { canonicalize } from '../../../shared/json/canonical.js';
import type { Root, Snapshot, Targets, Timestamp } from '../../../shared/tuf/model.js';
import { verifyLengthAndHashes } from '../../../shared/tuf/file-meta.js';
import { metadataFixtures, readFixture } from './notary-helpers.js';

const files = metadataFixtures();

interface Derived {
  files: Record<string, { length: number; sha256_hex: string; sha256_base64: string; sha512_base64: string }>;
}
const derived = JSON.parse(readFixture('derived/ids-and-hashes.json').toString('utf8')) as Derived;

describe('notary fixtures', () => {
  test('the fixture set is complete', () => {
    assert.equal(files.filter((f) => f.name.startsWith('server/')).length, 8);
    assert.ok(files.filter((f) => f.name.startsWith('trust_dir/')).length >= 14);
  });

  for (const f of files) {
    test(`${f.name}: parse, encode byte for byte, model keeps every notary field`, () => {
      const env = notaryCodec.parse(f.bytes, f.type, { roleName: f.role });
      assert.equal(env.signed.type, f.type);
      assert.ok(env.raw.equals(f.bytes));
      // the signed tree is the decoded `signed` member untouched
      const doc = JSON.parse(f.bytes.toString('utf8')) as { signed: unknown };
      assert.deepEqual(env.signedTree, doc.signed);
      assert.ok(env.signedBytes?.equals(canonicalize(env.signedTree)));
      assert.ok(notaryCodec.signedBytes(env.signedTree).equals(canonicalize(env.signedTree)));
      const again = notaryCodec.encode(env.signedTree, env.signatures);
      assert.equal(again.toString('utf8'), f.bytes.toString('utf8'));
      assert.ok(again.equals(f.bytes));
      const tree = notaryCodec.toSignedTree(env.signed);
      assert.equal(canonicalize(tree).toString('utf8'), canonicalize(env.signedTree).toString('utf8'));
      // and the model-built tree encodes to the same file
      assert.ok(notaryCodec.encode(tree, env.signatures).equals(f.bytes));
    });
  }
});

describe('fixture semantics', () => {
  test('root: four roles, certificate root key, thresholds', () => {
    const root = notaryCodec.parse(readFixture('server/root.json'), 'root').signed as Root;
    assert.equal(root.version, 2);
    // nanosecond text kept verbatim (notary-wire.md 1.2 quotes this value for root.json; it is in 1.root.json)
    assert.equal(root.expires.text, '2036-11-19T18:59:49.955614454Z');
    assert.equal(root.expires.ms, Date.parse('2036-11-19T18:59:49.955Z'));
    const root1 = notaryCodec.parse(readFixture('server/1.root.json'), 'root').signed as Root;
    assert.equal(root1.expires.text, '2036-11-19T18:59:49.735982962Z');
    assert.deepEqual([...root.roles.keys()].sort(), ['root', 'snapshot', 'targets', 'timestamp']);
    assert.equal(root.consistentSnapshot, false);
    const rootRole = root.roles.get('root')!;
    assert.equal(rootRole.threshold, 1);
    const rootKey = root.keys.get(rootRole.keyIds[0]!)!;
    assert.equal(rootKey.keyType, 'ecdsa-x509');
    assert.equal(rootKey.id, 'efb000413ad5ca5493e0553395ada497db84ac22a4b371ffadd9096506e9e01a');
    assert.equal(rootKey.certificates.length, 1);
  });

  test('targets: custom kept as decoded, hashes as raw digests, ordered delegations with paths', () => {
    const t = notaryCodec.parse(readFixture('server/targets.json'), 'targets').signed as Targets;
    const v1 = t.targets.get('v1.0.0')!;
    assert.equal(v1.length, 15);
    assert.deepEqual(v1.custom, { built_by: 'ci', commit: '0123abcd' });
    assert.equal(v1.hashes.get('sha256')!.length, 32);
    assert.equal(v1.hashes.get('sha512')!.length, 64);
    assert.ok(v1.hashes.get('sha256')!.equals(createHash('sha256').update(readFixture('payloads/app-v1.0.0.txt')).digest()));
    assert.deepEqual(
      t.delegations!.roles.map((r) => [r.name, r.paths, r.threshold, r.terminating]),
      [
        ['targets/releases', [''], 1, false],
        ['targets/jenkins', ['jenkins/'], 1, false],
      ],
    );
    assert.equal(t.delegations!.keys.size, 2);
  });

  test('an empty delegations object parses to no roles', () => {
    const t = notaryCodec.parse(readFixture('server/targets/jenkins.json'), 'targets', { roleName: 'targets/jenkins' }).signed as Targets;
    assert.deepEqual(t.delegations?.roles, []);
    assert.equal(t.delegations?.keys.size, 0);
  });

  test('snapshot meta matches the fixture files and the derived hashes', () => {
    const s = notaryCodec.parse(readFixture('server/snapshot.json'), 'snapshot').signed as Snapshot;
    assert.deepEqual([...s.meta.keys()].sort(), ['root', 'targets', 'targets/jenkins', 'targets/releases']);
    for (const [role, meta] of s.meta) {
      const file = `${role}.json`;
      const d = derived.files[file]!;
      assert.equal(meta.length, d.length);
      assert.equal(meta.hashes.get('sha256')!.toString('hex'), d.sha256_hex);
      assert.equal(meta.hashes.get('sha512')!.toString('base64'), d.sha512_base64);
      verifyLengthAndHashes(readFixture(`server/${file}`), meta, role);
    }
  });

  test('timestamp meta matches snapshot.json', () => {
    const ts = notaryCodec.parse(readFixture('server/timestamp.json'), 'timestamp').signed as Timestamp;
    const meta = ts.meta.get('snapshot')!;
    assert.equal(meta.length, 1085);
    assert.equal(meta.hashes.get('sha256')!.toString('base64'), 'NVuKM8F1U7M/IjBlaV28kkE0uglRkanqlElpRcKC0wA=');
    verifyLengthAndHashes(readFixture('server/snapshot.json'), meta, 'snapshot');
    assert.equal(derived.files['snapshot.json']!.sha256_base64, meta.hashes.get('sha256')!.toString('base64'));
  });

  test('signatures: key ID, method and raw signature bytes; the cached signed bytes verify', () => {
    const env = notaryCodec.parse(readFixture('server/timestamp.json'), 'timestamp');
    const root = notaryCodec.parse(readFixture('server/root.json'), 'root').signed as Root;
    const sig = env.signatures[0]!;
    assert.equal(sig.method, 'eddsa');
    assert.equal(sig.sig.length, 64);
    const key = root.keys.get(sig.keyId)!;
    assert.ok(verify(null, env.signedBytes!, { key: key.spki!, format: 'der', type: 'spki' }, sig.sig));
  });
});

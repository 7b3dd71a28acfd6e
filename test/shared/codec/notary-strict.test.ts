// SPDX-License-Identifier: Apache-2.0
// One test per parse rule, each on a fixture with exactly one thing broken, so
// removing the check makes the test fail. Field paths and codes are asserted.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { DeserializationError } from '../../../shared/errors.js';
import type { Root, Targets } from '../../../shared/tuf/model.js';
import { assertRejects, mutate, readFixture, type Tree } from './notary-helpers.js';

const ROOT = 'server/root.json';
const TARGETS = 'server/targets.json';
const SNAPSHOT = 'server/snapshot.json';
const TIMESTAMP = 'server/timestamp.json';

const parseRoot = (b: Buffer) => notaryCodec.parse(b, 'root');
const parseTargets = (b: Buffer, roleName?: string) => notaryCodec.parse(b, 'targets', roleName === undefined ? undefined : { roleName });
const rootKeyIds = (d: Tree): string[] => d.signed.roles.root.keyids as string[];
const TARGETS_KEY = '50c5db8043356e6c1ca87f7a06aa909493c9b12d1153079d790ace59bd826d11';
const RELEASES_KEY = '73e915f6bc6ac6b1b1d47a7830db813e8726917ee18c68ab49a6effcfed5b802';

describe('envelope', () => {
  test('bytes that are not JSON are MALFORMED_JSON', () => {
    assertRejects(() => notaryCodec.parseAny(Buffer.from('{"signed": not json')), '', 'MALFORMED_JSON');
    assertRejects(() => notaryCodec.parseAny(Buffer.from([0x7b, 0xff, 0x7d])), '', 'MALFORMED_JSON', /UTF-8/);
  });
  test('the document and `signed` must be objects', () => {
    assertRejects(() => notaryCodec.parseAny(Buffer.from('[1]')), '');
    assertRejects(() => notaryCodec.parseAny(mutate(ROOT, (d) => (d.signed = 'x'))), 'signed');
  });
  test('strict: `signatures` must be an array (Go accepts it missing)', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => delete d.signatures)), 'signatures');
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signatures = null))), 'signatures');
  });
  test('an empty signatures array parses (verification refuses it later)', () => {
    assert.equal(parseRoot(mutate(ROOT, (d) => (d.signatures = []))).signatures.length, 0);
  });
  test('unknown members are tolerated and stay in signedTree', () => {
    const b = mutate(TARGETS, (d) => {
      d.extra = 1;
      d.signed.x_custom_member = { a: [1, 'b'] };
      d.signed.delegations.roles[0].path_hash_prefixes = ['ab'];
      d.signed.delegations.roles[0].note = 'n';
      d.signatures[0].extra = true;
    });
    const env = parseTargets(b);
    assert.deepEqual(env.signedTree.x_custom_member, { a: [1, 'b'] });
    assert.deepEqual((env.signed as Targets).delegations!.roles[0]!.pathHashPrefixes, ['ab']);
    // notary's own fields only when the model is written back
    const tree = notaryCodec.toSignedTree(env.signed);
    assert.equal(tree.x_custom_member, undefined);
    assert.ok(!JSON.stringify(tree).includes('path_hash_prefixes'));
  });
});

describe('_type', () => {
  test('a different type than expected is WRONG_TYPE', () => {
    assertRejects(() => notaryCodec.parse(readFixture(ROOT), 'targets'), 'signed._type', 'WRONG_TYPE', /expected Targets metadata, got _type "Root"/);
  });
  test('strict: _type is case-sensitive', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed._type = 'root'))), 'signed._type', 'WRONG_TYPE');
  });
  test('parseAny refuses an unknown or missing _type', () => {
    assertRejects(() => notaryCodec.parseAny(mutate(ROOT, (d) => (d.signed._type = 'Mirror'))), 'signed._type');
    assertRejects(() => notaryCodec.parseAny(mutate(ROOT, (d) => delete d.signed._type)), 'signed._type');
  });
  test('parseAny picks the type from _type', () => {
    assert.equal(notaryCodec.parseAny(readFixture(SNAPSHOT)).signed.type, 'snapshot');
  });
});

describe('common fields', () => {
  test('strict: version must be an integer >= 1', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.version = 0))), 'signed.version', 'INVALID_FIELD', /integer >= 1, got 0/);
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.version = '2'))), 'signed.version');
    assertRejects(() => parseRoot(mutate(ROOT, (d) => delete d.signed.version)), 'signed.version');
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.version = 2 ** 53))), 'signed.version');
  });
  test('strict: expires must be RFC 3339 with a zone', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.expires = '2030-01-01T00:00:00'))), 'signed.expires', 'INVALID_FIELD', /RFC 3339/);
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.expires = 1893456000))), 'signed.expires');
  });
  test('expires with an offset and any fraction length parses', () => {
    const r = parseRoot(mutate(ROOT, (d) => (d.signed.expires = '2036-11-20T00:42:46.1845814351+05:30'))).signed;
    assert.equal(r.expires.text, '2036-11-20T00:42:46.1845814351+05:30');
    assert.equal(r.expires.ms, Date.parse('2036-11-19T19:12:46.184Z'));
  });
  test('strict: a non-integer number anywhere in signed is CANONICAL_JSON with its path', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.extra = { x: 1.5 }))), 'signed.extra.x', 'CANONICAL_JSON');
    assertRejects(
      () => parseTargets(mutate(TARGETS, (d) => (d.signed.targets['v1.0.0'].custom.n = [0, 0.25]))),
      'signed.targets.v1.0.0.custom.n[1]',
      'CANONICAL_JSON',
    );
  });
  test('integer-valued number literals (1.0, 1e2) are accepted, as notary canonicalises them', () => {
    const b = Buffer.from(readFixture(TARGETS).toString('utf8').replace('"version":4', '"version":4.0').replace('"length":15', '"length":1.5e1'));
    const env = parseTargets(b);
    assert.equal(env.signed.version, 4);
    assert.ok(notaryCodec.encode(env.signedTree, env.signatures).equals(readFixture(TARGETS)));
  });
});

describe('root', () => {
  test('strict: root must define all four top-level roles', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => delete d.signed.roles.timestamp)), 'signed.roles.timestamp', 'INVALID_FIELD', /must define the timestamp role/);
  });
  test('extra role names are tolerated', () => {
    const r = parseRoot(mutate(ROOT, (d) => (d.signed.roles.mirror = { keyids: rootKeyIds(d), threshold: 1 }))).signed as Root;
    assert.equal(r.roles.get('mirror')?.threshold, 1);
  });
  test('strict: threshold must be an integer >= 1', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.roles.root.threshold = 0))), 'signed.roles.root.threshold');
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.roles.targets.threshold = '1'))), 'signed.roles.targets.threshold');
  });
  test('a key ID listed twice in one role (notary 0.7 writes that) counts once', () => {
    let id = '';
    const r = parseRoot(mutate(ROOT, (d) => { id = rootKeyIds(d)[0]!; rootKeyIds(d).push(id); })).signed as Root;
    assert.deepEqual(r.roles.get('root')?.keyIds, [id]);
  });
  test('role key IDs must have a key in signed.keys', () => {
    const missing = 'ab'.repeat(32);
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.roles.snapshot.keyids = [missing]))), 'signed.roles.snapshot.keyids[0]', 'INVALID_FIELD', /no entry in signed.keys/);
  });
  test('strict: a key ID inside keyids must be 64 lower-case hex digits', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.roles.root.keyids = [rootKeyIds(d)[0]!.toUpperCase()]))), 'signed.roles.root.keyids[0]');
  });
  test('strict: a keys entry must be listed under its own key ID', () => {
    assertRejects(
      () =>
        parseRoot(
          mutate(ROOT, (d) => {
            const keys = d.signed.keys as Tree;
            keys['00'.repeat(32)] = keys[TARGETS_KEY];
          }),
        ),
      `signed.keys.${'00'.repeat(32)}`,
      'INVALID_KEY_ID',
    );
  });
  test('strict: keyval.private must be null in public metadata', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.keys[TARGETS_KEY].keyval.private = 'c2VjcmV0'))), `signed.keys.${TARGETS_KEY}.keyval.private`);
  });
  test('a key whose public value is not base64 is refused with its path', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.keys[TARGETS_KEY].keyval.public = 'not base64!'))), `signed.keys.${TARGETS_KEY}.keyval.public`);
  });
  test('a certificate whose public key does not decode is a DeserializationError, not a crypto Error', () => {
    const b = Buffer.from(readFixture(ROOT));
    b[1159] = 0x30; // inside the root certificate's SubjectPublicKeyInfo (found by the property test)
    assertRejects(() => parseRoot(b), 'signed.keys.efb000413ad5ca5493e0553395ada497db84ac22a4b371ffadd9096506e9e01a.keyval.public', 'INVALID_FIELD', /cannot be decoded/);
  });
  test('consistent_snapshot must be a boolean when present', () => {
    assertRejects(() => parseRoot(mutate(ROOT, (d) => (d.signed.consistent_snapshot = 'false'))), 'signed.consistent_snapshot');
  });
});

describe('targets', () => {
  test('strict: targets must be an object', () => {
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => delete d.signed.targets)), 'signed.targets');
  });
  test('strict: sha256 must be 32 bytes and sha512 64 bytes', () => {
    const short = Buffer.alloc(31).toString('base64');
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.targets['v1.0.0'].hashes.sha256 = short))), 'signed.targets.v1.0.0.hashes.sha256', 'INVALID_FIELD', /32 bytes, got 31/);
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.targets['v1.0.0'].hashes.sha512 = short))), 'signed.targets.v1.0.0.hashes.sha512');
  });
  test('unknown hash names are kept; their value must still be base64', () => {
    const t = parseTargets(mutate(TARGETS, (d) => (d.signed.targets['v1.0.0'].hashes.md5 = 'AAAA'))).signed as Targets;
    assert.deepEqual(t.targets.get('v1.0.0')!.hashes.get('md5'), Buffer.from([0, 0, 0]));
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.targets['v1.0.0'].hashes.md5 = 'AAA'))), 'signed.targets.v1.0.0.hashes.md5');
  });
  test('length must be an integer >= 0', () => {
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.targets['v1.0.0'].length = -1))), 'signed.targets.v1.0.0.length');
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => delete d.signed.targets['v1.0.0'].length)), 'signed.targets.v1.0.0.length');
  });
  test('custom null is treated as absent, as Go does', () => {
    const t = parseTargets(mutate(TARGETS, (d) => (d.signed.targets['v1.0.0'].custom = null))).signed as Targets;
    assert.equal('custom' in t.targets.get('v1.0.0')!, false);
  });
  test('strict: delegation names must be valid (notary-wire 4.4)', () => {
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.delegations.roles[1].name = 'targets/Jenkins'))), 'signed.delegations.roles[1].name');
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.delegations.roles[1].name = 'targets/a//b'))), 'signed.delegations.roles[1].name');
  });
  test('strict: delegations must be direct children of the parsed role', () => {
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.delegations.roles[1].name = 'targets/releases/sub'))), 'signed.delegations.roles[1].name', 'BAD_DELEGATION', /not a direct child of targets/);
    // the same file parsed as a delegation's metadata: its children are targets/x, not targets/releases/x
    assertRejects(() => parseTargets(readFixture(TARGETS), 'targets/releases'), 'signed.delegations.roles[0].name', 'BAD_DELEGATION');
  });
  test('a delegation file accepts its own children', () => {
    const b = mutate('server/targets/releases.json', (d) => {
      d.signed.delegations.keys = (JSON.parse(readFixture(TARGETS).toString('utf8')) as Tree).signed.delegations.keys;
      d.signed.delegations.roles = [{ keyids: [RELEASES_KEY], name: 'targets/releases/beta', threshold: 1 }];
    });
    const t = parseTargets(b, 'targets/releases').signed as Targets;
    assert.equal(t.delegations!.roles[0]!.name, 'targets/releases/beta');
    assert.equal(t.delegations!.roles[0]!.paths, undefined);
  });
  test('the role name passed to parse must be a targets role', () => {
    assertRejects(() => parseTargets(readFixture(TARGETS), 'root'), '');
  });
  test('strict: duplicate delegation names are refused', () => {
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.delegations.roles[1].name = 'targets/releases'))), 'signed.delegations.roles[1].name', 'BAD_DELEGATION', /twice/);
  });
  test('delegation key IDs must be in delegations.keys; one listed twice counts once', () => {
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.delegations.roles[1].keyids = [TARGETS_KEY]))), 'signed.delegations.roles[1].keyids[0]', 'INVALID_FIELD', /signed.delegations.keys/);
    const twice = parseTargets(mutate(TARGETS, (d) => d.signed.delegations.roles[0].keyids.push(RELEASES_KEY))).signed as Targets;
    assert.deepEqual(twice.delegations?.roles[0]?.keyIds, [RELEASES_KEY]);
  });
  test('strict: delegation threshold must be an integer >= 1', () => {
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.delegations.roles[0].threshold = 0))), 'signed.delegations.roles[0].threshold');
  });
  test('paths must be an array of strings when present', () => {
    assertRejects(() => parseTargets(mutate(TARGETS, (d) => (d.signed.delegations.roles[1].paths = ['ok', 3]))), 'signed.delegations.roles[1].paths[1]');
  });
  test('missing delegations parse as null', () => {
    assert.equal((parseTargets(mutate(TARGETS, (d) => delete d.signed.delegations)).signed as Targets).delegations, null);
  });
});

describe('snapshot and timestamp', () => {
  test('snapshot must list root and targets with a sha256', () => {
    assertRejects(() => notaryCodec.parse(mutate(SNAPSHOT, (d) => delete d.signed.meta.root), 'snapshot'), 'signed.meta.root', 'INVALID_FIELD', /sha256/);
    assertRejects(() => notaryCodec.parse(mutate(SNAPSHOT, (d) => delete d.signed.meta.targets.hashes.sha256), 'snapshot'), 'signed.meta.targets.hashes.sha256');
  });
  test('timestamp must list snapshot with a sha256', () => {
    assertRejects(() => notaryCodec.parse(mutate(TIMESTAMP, (d) => (d.signed.meta = { other: d.signed.meta.snapshot })), 'timestamp'), 'signed.meta.snapshot');
    assertRejects(() => notaryCodec.parse(mutate(TIMESTAMP, (d) => delete d.signed.meta.snapshot.hashes.sha256), 'timestamp'), 'signed.meta.snapshot.hashes.sha256');
  });
  test('meta hashes are checked for size', () => {
    assertRejects(() => notaryCodec.parse(mutate(TIMESTAMP, (d) => (d.signed.meta.snapshot.hashes.sha256 = 'AAAA')), 'timestamp'), 'signed.meta.snapshot.hashes.sha256');
  });
});

describe('signatures', () => {
  test('strict: two signatures with the same key ID are refused', () => {
    assertRejects(() => notaryCodec.parse(mutate(TIMESTAMP, (d) => d.signatures.push({ ...d.signatures[0] })), 'timestamp'), 'signatures[1].keyid', 'INVALID_FIELD', /second signature/);
  });
  test('keyid must be 64 lower-case hex digits', () => {
    assertRejects(() => notaryCodec.parse(mutate(TIMESTAMP, (d) => (d.signatures[0].keyid = d.signatures[0].keyid.toUpperCase())), 'timestamp'), 'signatures[0].keyid');
  });
  test('sig must be padded standard base64', () => {
    assertRejects(() => notaryCodec.parse(mutate(TIMESTAMP, (d) => (d.signatures[0].sig = d.signatures[0].sig.replace(/=+$/, ''))), 'timestamp'), 'signatures[0].sig');
    assertRejects(() => notaryCodec.parse(mutate(TIMESTAMP, (d) => (d.signatures[0].sig = 'a-b_')), 'timestamp'), 'signatures[0].sig');
  });
  test('method is lower-cased like Go, and re-encoded lower-case', () => {
    const env = notaryCodec.parse(mutate(TIMESTAMP, (d) => (d.signatures[0].method = 'EdDSA')), 'timestamp');
    assert.equal(env.signatures[0]!.method, 'eddsa');
    assert.ok(notaryCodec.encode(env.signedTree, env.signatures).equals(readFixture(TIMESTAMP)));
  });
  test('method must be a string', () => {
    assertRejects(() => notaryCodec.parse(mutate(TIMESTAMP, (d) => (d.signatures[0].method = 1)), 'timestamp'), 'signatures[0].method');
  });
});

test('every rejection above is a DeserializationError (also for hostile member names)', () => {
  const b = mutate(ROOT, (d) => {
    d.signed.roles.root.keyids = ['constructor'];
  });
  assert.throws(() => parseRoot(b), DeserializationError);
  const proto = Buffer.from(readFixture(TARGETS).toString('utf8').replace('"v1.0.0"', '"__proto__"'));
  const t = parseTargets(proto).signed as Targets;
  assert.equal(t.targets.get('__proto__')!.length, 15);
  assert.ok(notaryCodec.encode(notaryCodec.toSignedTree(t), []).includes('"__proto__"'));
});

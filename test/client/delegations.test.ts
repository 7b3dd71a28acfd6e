// SPDX-License-Identifier: Apache-2.0
// `delegation list` over the notary-made fixture repository: the exact text
// notary printed (cli-output/owner-delegation-list.txt), canonical key IDs in
// the JSON form, and docker's choice of roles for `sign`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { notaryCodec } from '../../shared/codec/notary.js';
import { notaryRootKeyRules, TrustedMetadataSet } from '../../shared/verify/index.js';
import { CryptoService, MemoryKeyStore } from '../../keys/index.js';
import { delegationToJson, formatDelegations, listDelegations } from '../../client/delegations.js';
import { checkContent, parseDigest, signableRoles } from '../../client/targets-ops.js';
import { LengthOrHashMismatchError, UsageError } from '../../shared/errors.js';
import { FIXTURE_NOW, fixture } from '../support/paths.js';

const bytes = (f: string): Buffer => fs.readFileSync(fixture('server', f));

function fixtureSet(): TrustedMetadataSet {
  const set = new TrustedMetadataSet(bytes('root.json'), { gun: 'example.com/app', now: FIXTURE_NOW, codec: notaryCodec, rules: notaryRootKeyRules });
  set.updateTimestamp(bytes('timestamp.json'));
  set.updateSnapshot(bytes('snapshot.json'));
  set.updateTargets(bytes('targets.json'));
  set.updateDelegatedTargets(bytes('targets/releases.json'), 'targets/releases', 'targets');
  set.updateDelegatedTargets(bytes('targets/jenkins.json'), 'targets/jenkins', 'targets');
  return set;
}

describe('delegation list', () => {
  it('prints exactly what notary printed for the fixture repository', () => {
    const expected = fs.readFileSync(fixture('cli-output', 'owner-delegation-list.txt'), 'utf8');
    assert.equal(formatDelegations(listDelegations(fixtureSet())), expected);
  });

  it('JSON has stable field names and canonical key IDs', () => {
    assert.deepEqual(listDelegations(fixtureSet()).map(delegationToJson), [
      { role: 'targets/jenkins', paths: ['jenkins/'], keyIds: ['a12a59c9425677565613dd32e9eaaff1954bb044d09a966cbf4da4a80c28c3ea'], threshold: 1 },
      { role: 'targets/releases', paths: [''], keyIds: ['1d755a178a2a415a21a7fb6e4ddd807bbda71992546368f10c1c982a08d90612'], threshold: 1 },
    ]);
  });

  it('says so when there are none', () => {
    assert.equal(formatDelegations([]), '\n\nNo delegations present in this repository.\n\n\n');
  });
});

describe('sign and verify helpers', () => {
  it('picks the delegations whose key is held and whose paths cover the tag (docker GetSignableRoles)', async () => {
    const store = new MemoryKeyStore();
    await store.importPem(fs.readFileSync(fixture('delegate-keys', 'jenkins.key')), { role: 'targets/jenkins' });
    const keys = new CryptoService([store]);
    await assert.rejects(signableRoles(fixtureSet(), '1.0', keys), UsageError); // jenkins/ does not cover "1.0"
    assert.deepEqual(await signableRoles(fixtureSet(), 'jenkins/1.0', keys), ['targets/jenkins']);
    await store.importPem(fs.readFileSync(fixture('delegate-keys', 'releases.key')), { role: 'targets/releases' });
    assert.deepEqual(await signableRoles(fixtureSet(), 'jenkins/1.0', keys), ['targets/releases', 'targets/jenkins']); // delegation order
  });

  it('parses docker digests strictly', () => {
    assert.equal(parseDigest(`sha256:${'ab'.repeat(32)}`).length, 32);
    for (const bad of ['ab'.repeat(32), `sha512:${'ab'.repeat(32)}`, `sha256:${'AB'.repeat(32)}`, `sha256:${'ab'.repeat(31)}`]) assert.throws(() => parseDigest(bad), UsageError);
  });

  it('accepts the trusted content and refuses other bytes or another length', () => {
    const set = fixtureSet();
    const match = set.lookupTarget('v1.0.0')!;
    const good = fs.readFileSync(fixture('payloads', 'app-v1.0.0.txt'));
    checkContent(good, match);
    const flipped = Buffer.from(good);
    flipped[0] = flipped[0]! ^ 1;
    assert.throws(() => checkContent(flipped, match), (e: unknown) => e instanceof LengthOrHashMismatchError && e.code === 'HASH_MISMATCH');
    assert.throws(() => checkContent(Buffer.concat([good, Buffer.from('x')]), match), (e: unknown) => e instanceof LengthOrHashMismatchError && e.code === 'LENGTH_MISMATCH');
  });
});

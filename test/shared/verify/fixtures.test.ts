// SPDX-License-Identifier: Apache-2.0
// The notary-made fixture repository verifies end to end at FIXTURE_NOW:
// trust 1.root.json, walk to 2.root.json, then timestamp -> snapshot ->
// targets -> both delegations; lookups find what notary lists. After the
// timestamp's expiry the same chain is refused.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { ExpiredMetadataError } from '../../../shared/errors.js';
import { notaryRootKeyRules, TrustedMetadataSet } from '../../../shared/verify/index.js';
import { FIXTURE_NOW, fixture } from '../../support/paths.js';

const GUN = 'example.com/app';
const read = (...p: string[]): Buffer => fs.readFileSync(fixture('server', ...p));

function walk(now: Date): TrustedMetadataSet {
  const set = new TrustedMetadataSet(read('1.root.json'), { gun: GUN, now, codec: notaryCodec, rules: notaryRootKeyRules });
  set.updateRoot(read('2.root.json'));
  set.updateTimestamp(read('timestamp.json'));
  set.updateSnapshot(read('snapshot.json'));
  set.updateTargets(read('targets.json'));
  set.updateDelegatedTargets(read('targets', 'releases.json'), 'targets/releases', 'targets');
  set.updateDelegatedTargets(read('targets', 'jenkins.json'), 'targets/jenkins', 'targets');
  return set;
}

describe('fixture repository (made by notary 0.7)', () => {
  it('verifies the whole chain at FIXTURE_NOW', () => {
    const set = walk(FIXTURE_NOW);
    assert.equal(set.root.signed.version, 2);
    assert.equal(set.timestamp?.signed.version, 6);
    assert.equal(set.snapshot?.signed.version, 7);
    assert.equal(set.targets?.signed.version, 4);
    assert.equal(set.rootUpdateNeeded(), false);
  });

  it('finds v1.0.0, release-1.0.0 and jenkins/build-42 in the roles notary lists them under', () => {
    const set = walk(FIXTURE_NOW);
    assert.equal(set.lookupTarget('v1.0.0')?.role, 'targets');
    assert.equal(set.lookupTarget('v1.0.0')?.target.length, 15);
    assert.equal(set.lookupTarget('release-1.0.0')?.role, 'targets/releases');
    assert.equal(set.lookupTarget('jenkins/build-42')?.role, 'targets/jenkins');
    assert.equal(set.lookupTarget('jenkins/build-42')?.target.length, 17);
    assert.equal(set.lookupTarget('nope'), undefined);
    assert.deepEqual(
      set.listTargets().map((t) => `${t.name}@${t.role}`),
      ['jenkins/build-42@targets/jenkins', 'release-1.0.0@targets/releases', 'v1.0.0@targets'],
    );
    assert.deepEqual(set.listTargets({ roles: ['targets/jenkins'] }).map((t) => t.name), ['jenkins/build-42']);
  });

  it('agrees with `notary list` as recorded in cli-output/owner-list.txt', () => {
    const listed = fs.readFileSync(fixture('cli-output', 'owner-list.txt'), 'utf8');
    const set = walk(FIXTURE_NOW);
    for (const t of set.listTargets()) assert.match(listed, new RegExp(`^\\s*${t.name.replace('/', '\\/')}\\s+.*${t.role.replace('/', '\\/')}\\s*$`, 'm'));
  });

  it('refuses the chain once the timestamp has expired (2026-12-06T18:59:50Z)', () => {
    const later = new Date('2026-12-06T19:00:00Z');
    const set = new TrustedMetadataSet(read('1.root.json'), { gun: GUN, now: later, codec: notaryCodec, rules: notaryRootKeyRules });
    set.updateRoot(read('2.root.json'));
    assert.throws(() => set.updateTimestamp(read('timestamp.json')), (e: unknown) => e instanceof ExpiredMetadataError && e.code === 'EXPIRED' && /timestamp/.test(e.message));
    assert.throws(() => walk(later), ExpiredMetadataError);
  });

  it('accepts the timestamp up to its exact expiry instant (notary: expired means strictly before now)', () => {
    assert.doesNotThrow(() => walk(new Date('2026-12-06T18:59:50.042Z')));
    assert.throws(() => walk(new Date('2026-12-06T18:59:50.043Z')), ExpiredMetadataError);
  });
});

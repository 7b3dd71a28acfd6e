// SPDX-License-Identifier: Apache-2.0
// One test per attack the verifier refuses (TUF's threat list, notary's
// swizzler tests), part 1: rollback, freeze, mix-and-match, endless data.
// Each builds a real repository in the simulator, corrupts one thing, and
// asserts the error class and code; removing the matching check makes the
// test fail.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  BadVersionError,
  EqualVersionError,
  ExpiredMetadataError,
  LengthOrHashMismatchError,
  RepositoryError,
} from '../../../shared/errors.js';
import { RepositorySimulator } from '../../support/repository-simulator.js';
import * as swizzle from '../../support/swizzler.js';

type ErrorClass = new (...args: never[]) => Error;
function rejects(fn: () => unknown, cls: ErrorClass, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.equal((e as { code?: string }).code, code, (e as Error).message);
    if (message !== undefined) assert.match((e as Error).message, message);
    return true;
  });
}

let base: RepositorySimulator;
before(async () => {
  base = await RepositorySimulator.create();
});

describe('rollback attacks', () => {
  it('rejects a timestamp version rollback', async () => {
    const sim = await RepositorySimulator.create();
    await sim.publish();
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp', 2));
    rejects(() => set.updateTimestamp(sim.file('timestamp', 1)), BadVersionError, 'VERSION_ROLLBACK', /timestamp version 1 is lower than the trusted version 2/);
    assert.equal(set.timestamp?.signed.version, 2);
  });

  it('signals an equal timestamp version and keeps the trusted one', async () => {
    const set = base.trust();
    const first = set.updateTimestamp(base.file('timestamp'));
    assert.throws(() => set.updateTimestamp(base.file('timestamp')), EqualVersionError);
    assert.equal(set.timestamp, first);
  });

  it('rejects a snapshot version rollback against the trusted snapshot', async () => {
    const sim = await RepositorySimulator.create();
    await sim.publish(); // snapshot v2, the client's cached copy
    sim.serveOldVersion('snapshot', 1);
    await sim.publishTimestamp(); // a compromised server points a fresh timestamp at snapshot v1
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot', 2), { trusted: true });
    rejects(() => set.updateSnapshot(sim.file('snapshot', 1)), BadVersionError, 'VERSION_ROLLBACK', /snapshot version 1 is lower than the trusted version 2/);
  });

  it('rejects a snapshot that drops a role the trusted snapshot recorded', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addDelegation('targets/releases', { paths: [''] });
    await sim.publish(); // snapshot v2 records targets/releases
    const dropped = await swizzle.editSigned(
      sim.file('snapshot'),
      (t) => {
        delete (t.meta as Record<string, unknown>)['targets/releases'];
        t.version = 3;
      },
      sim.snapshot.keys,
    );
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'), { trusted: true });
    set.updateSnapshot(dropped, { trusted: true });
    // targets still delegates to targets/releases: the snapshot is hiding it.
    rejects(() => set.updateTargets(sim.file('targets')), RepositoryError, 'MISSING_META', /drops targets\/releases.*still delegates/);
  });

  it('accepts a delegation removed the way notary removes it (gone from the parent and the snapshot)', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addDelegation('targets/releases', { paths: [''] });
    await sim.publish();
    const before = sim.file('snapshot');
    sim.removeDelegation('targets/releases');
    await sim.publish();
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(before, { trusted: true });
    set.updateSnapshot(sim.file('snapshot'));
    assert.doesNotThrow(() => set.updateTargets(sim.file('targets')));
  });

  /**
   * The client trusted a snapshot recording targets/releases and cached its file; then `change`
   * happens and the snapshot signer publishes a snapshot without targets/releases.
   */
  async function dropAfter(change: (sim: RepositorySimulator) => Promise<void>): Promise<() => unknown> {
    const sim = await RepositorySimulator.create();
    await sim.addDelegation('targets/releases', { paths: ['releases/'] });
    sim.addTarget('targets/releases', 'releases/1.0', 'one');
    await sim.publish();
    const before = sim.file('snapshot');
    const cachedReleases = sim.file('targets/releases');
    await change(sim);
    await sim.publish();
    const dropped = await swizzle.editSigned(sim.file('snapshot'), (t) => void delete (t.meta as Record<string, unknown>)['targets/releases'], sim.snapshot.keys);
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(before, { trusted: true });
    set.updateSnapshot(dropped, { trusted: true });
    const cachedRole = (r: string): Buffer | undefined => (r === 'targets/releases' ? cachedReleases : undefined);
    return () => set.updateTargets(sim.file('targets'), { cachedRole });
  }

  it('accepts a delegation its owner removed and added again with a new key, before the new delegate publishes', async () => {
    // notary's client writes no snapshot entry for the re-added role until its delegate publishes
    const load = await dropAfter(async (sim) => {
      sim.removeDelegation('targets/releases');
      await sim.addDelegation('targets/releases', { paths: ['releases/'] }); // the usual way to change a delegate's key
    });
    assert.doesNotThrow(load);
  });

  it('rejects the drop when the delegation still accepts the cached file: the owner changed something else, or only the paths', async () => {
    const otherTarget = await dropAfter(async (sim) => void sim.addTarget('targets', 'owner-file', 'x'));
    rejects(otherTarget, RepositoryError, 'MISSING_META', /drops targets\/releases.*still delegates to it with keys its last file still meets; refusing an attempt to hide its targets/);
    const widened = await dropAfter(async (sim) => {
      const keys = sim.targetsState('targets/releases').keys;
      sim.removeDelegation('targets/releases');
      await sim.addDelegation('targets/releases', { paths: ['releases/', 'more/'], keys });
    });
    rejects(widened, RepositoryError, 'MISSING_META', /its delegate must publish it again: signet witness \S+ targets\/releases -p/);
  });

  it('rejects the drop while the delegator is the one the trusted snapshot recorded, cache or not', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addDelegation('targets/releases', { paths: [''] });
    await sim.publish();
    const dropped = await swizzle.editSigned(sim.file('snapshot'), (t) => {
      delete (t.meta as Record<string, unknown>)['targets/releases'];
      t.version = (t.version as number) + 1;
    }, sim.snapshot.keys);
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'), { trusted: true });
    set.updateSnapshot(dropped, { trusted: true });
    rejects(() => set.updateTargets(sim.file('targets')), RepositoryError, 'MISSING_META', /still delegates to it unchanged/);
  });

  it('rejects a targets version rollback against the cached version', async () => {
    const sim = await RepositorySimulator.create();
    sim.addTarget('targets', 'a', 'a');
    await sim.publish(); // targets v2 is what the client cached
    sim.serveOldVersion('targets', 1);
    await sim.publish(); // snapshot v3 records targets v1
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'));
    rejects(() => set.updateTargets(sim.file('targets'), { previousVersion: 2 }), BadVersionError, 'VERSION_ROLLBACK', /targets version 1 is lower than the cached version 2/);
    assert.doesNotThrow(() => set.updateTargets(sim.file('targets'), { previousVersion: 1 }));
  });
});

describe('freeze attacks', () => {
  it('rejects an expired timestamp', async () => {
    const sim = await RepositorySimulator.create();
    sim.expire('timestamp');
    await sim.publish();
    rejects(() => sim.trust().updateTimestamp(sim.file('timestamp')), ExpiredMetadataError, 'EXPIRED', /^timestamp metadata version 2 expired/);
  });

  it('rejects an expired snapshot', async () => {
    const sim = await RepositorySimulator.create();
    sim.expire('snapshot');
    await sim.publish();
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    rejects(() => set.updateSnapshot(sim.file('snapshot')), ExpiredMetadataError, 'EXPIRED', /^snapshot metadata/);
  });

  it('rejects expired targets and expired delegations', async () => {
    const sim = await RepositorySimulator.create();
    await sim.addDelegation('targets/releases', { paths: [''] });
    sim.expire('targets/releases');
    await sim.publish();
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'));
    set.updateTargets(sim.file('targets'));
    rejects(() => set.updateDelegatedTargets(sim.file('targets/releases'), 'targets/releases', 'targets'), ExpiredMetadataError, 'EXPIRED', /^targets\/releases metadata/);
    assert.equal(set.getTargets('targets/releases'), undefined);

    sim.expire('targets');
    await sim.publish();
    const set2 = sim.trust();
    set2.updateTimestamp(sim.file('timestamp'));
    set2.updateSnapshot(sim.file('snapshot'));
    rejects(() => set2.updateTargets(sim.file('targets')), ExpiredMetadataError, 'EXPIRED', /^targets metadata/);
  });

  it('rejects an expired final root but walks through an expired intermediate root', async () => {
    const sim = await RepositorySimulator.create();
    sim.expire('root');
    await sim.publishRoot(); // v2, expired
    const set = sim.trust();
    set.updateRoot(sim.file('root', 2));
    rejects(() => set.updateTimestamp(sim.file('timestamp')), ExpiredMetadataError, 'EXPIRED', /^root metadata version 2 expired/);

    sim.root.expires = new Date(sim.now.getTime() + 1e10);
    await sim.publishRoot(); // v3, valid again
    const walked = sim.trust();
    walked.updateRoot(sim.file('root', 2));
    walked.updateRoot(sim.file('root', 3));
    assert.doesNotThrow(() => walked.updateTimestamp(sim.file('timestamp')));
  });

  it('rejects a final root whose certificate has expired', async () => {
    const sim = await RepositorySimulator.create();
    const old = await sim.newRootKey({ notBefore: new Date(sim.now.getTime() - 20 * 86400e3), notAfter: new Date(sim.now.getTime() - 86400e3) });
    sim.setKeys('root', [old]);
    await sim.publishRoot();
    const set = sim.trust();
    set.updateRoot(sim.file('root', 2)); // fine as an intermediate root
    rejects(() => set.updateTimestamp(sim.file('timestamp')), RepositoryError, 'BAD_ROOT', /certificate expired/);
  });
});

describe('mix-and-match and endless data', () => {
  it('rejects a snapshot that is not the one the timestamp recorded', async () => {
    const sim = await RepositorySimulator.create();
    await sim.publish(); // snapshot v2: same length as v1, different hash
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    assert.equal(sim.file('snapshot', 1).length, sim.file('snapshot', 2).length);
    rejects(() => set.updateSnapshot(sim.file('snapshot', 1)), LengthOrHashMismatchError, 'HASH_MISMATCH', /snapshot does not match its recorded sha256/);
  });

  it('rejects targets that are not the ones the snapshot recorded', async () => {
    const sim = await RepositorySimulator.create();
    sim.bumpVersion('targets');
    await sim.publish();
    const set = sim.trust();
    set.updateTimestamp(sim.file('timestamp'));
    set.updateSnapshot(sim.file('snapshot'));
    rejects(() => set.updateTargets(sim.file('targets', 1)), LengthOrHashMismatchError, 'HASH_MISMATCH', /^targets does not match/);
  });

  it('rejects a snapshot longer than the recorded length (endless data)', () => {
    const set = base.trust();
    set.updateTimestamp(base.file('timestamp'));
    rejects(() => set.updateSnapshot(swizzle.appendPadding(base.file('snapshot'))), LengthOrHashMismatchError, 'LENGTH_MISMATCH');
  });

  it('rejects targets longer than the recorded length (endless data)', () => {
    const set = base.trust();
    set.updateTimestamp(base.file('timestamp'));
    set.updateSnapshot(base.file('snapshot'));
    rejects(() => set.updateTargets(swizzle.extraWhitespace(base.file('targets'))), LengthOrHashMismatchError, 'LENGTH_MISMATCH');
  });
});


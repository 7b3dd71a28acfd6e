// SPDX-License-Identifier: Apache-2.0
// Table-driven root rotations (python-tuf test_updater_key_rotations.py): each
// case is a list of root versions `{keys, threshold, sigs}` by index into a pool
// of root certificate keys. The client walks them version by version; the
// server's pairwise check (versionSteps [0, 1]) must agree on where a case fails.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { BadVersionError, RepositoryError, UnsignedMetadataError } from '../../../shared/errors.js';
import type { Envelope, Root } from '../../../shared/tuf/model.js';
import { notaryRootKeyRules, plainRootKeyRules } from '../../../shared/verify/root-key-rules.js';
import { verifyRootUpdate } from '../../../shared/verify/root.js';
import { RepositorySimulator, type SimKey } from '../../support/repository-simulator.js';

interface RootVersion {
  readonly keys: readonly number[];
  readonly threshold: number;
  readonly sigs: readonly number[];
  /** Publish under this version instead of the next one. */
  readonly version?: number;
}
interface Case {
  readonly versions: readonly RootVersion[];
  /** Index (in `versions`) of the first root that must be refused, with the error. */
  readonly fails?: { readonly at: number; readonly error: new (...a: never[]) => Error; readonly code: string };
}
const unsigned = (at: number) => ({ at, error: UnsignedMetadataError, code: 'THRESHOLD_NOT_MET' });
const v = (keys: number[], threshold: number, sigs: number[], version?: number): RootVersion => ({ keys, threshold, sigs, ...(version === undefined ? {} : { version }) });

const cases: Record<string, Case> = {
  '1-of-1 key rotation': { versions: [v([1], 1, [1]), v([2], 1, [2, 1]), v([2], 1, [2])] },
  '1-of-1 key rotation, unused signatures': { versions: [v([1], 1, [3, 1, 4]), v([2], 1, [3, 2, 1, 4]), v([2], 1, [2, 3])] },
  '1-of-1 key rotation fails: not signed with the old key': { versions: [v([1], 1, [1]), v([2], 1, [2, 3, 4])], fails: unsigned(1) },
  '1-of-1 key rotation fails: not signed with the new key': { versions: [v([1], 1, [1]), v([2], 1, [1, 3, 4])], fails: unsigned(1) },
  '3-of-5, signed with different key combinations': {
    versions: [v([0, 1, 2, 3, 4], 3, [0, 2, 4]), v([0, 1, 2, 3, 4], 3, [0, 4, 1]), v([0, 1, 2, 3, 4], 3, [0, 1, 3]), v([0, 1, 2, 3, 4], 3, [0, 1, 3])],
  },
  '3-of-5, one key rotated': { versions: [v([0, 1, 2, 3, 4], 3, [0, 2, 4]), v([0, 1, 3, 4, 5], 3, [0, 4, 1])] },
  '3-of-5, one key rotated, fails: not signed by 3 new keys': { versions: [v([0, 1, 2, 3, 4], 3, [0, 2, 4]), v([0, 1, 3, 4, 5], 3, [0, 2, 4])], fails: unsigned(1) },
  '3-of-5, one key rotated, fails: not signed by 3 old keys': { versions: [v([0, 1, 2, 3, 4], 3, [0, 2, 4]), v([0, 1, 3, 4, 5], 3, [0, 4, 5])], fails: unsigned(1) },
  '3-of-5, one key rotated, with an intermediate step': { versions: [v([0, 1, 2, 3, 4], 3, [0, 2, 4]), v([0, 1, 3, 4, 5], 3, [0, 2, 4, 5]), v([0, 1, 3, 4, 5], 3, [0, 4, 5])] },
  '3-of-5, all keys rotated, with an intermediate step': {
    versions: [v([0, 1, 2, 3, 4], 3, [0, 2, 4]), v([5, 6, 7, 8, 9], 3, [0, 2, 4, 5, 6, 7]), v([5, 6, 7, 8, 9], 3, [5, 6, 7])],
  },
  '3-of-5, all keys rotated at once, fails: only 2 old signatures': { versions: [v([0, 1, 2, 3, 4], 3, [0, 2, 4]), v([5, 6, 7, 8, 9], 3, [0, 2, 5, 6, 7])], fails: unsigned(1) },
  '1-of-3 threshold increase to 2-of-3': { versions: [v([1, 2, 3], 1, [1]), v([1, 2, 3], 2, [1, 2])] },
  '1-of-3 threshold increase to 2-of-3 fails: new threshold not reached': { versions: [v([1, 2, 3], 1, [1]), v([1, 2, 3], 2, [2])], fails: unsigned(1) },
  '2-of-3 threshold decrease to 1-of-3': { versions: [v([1, 2, 3], 2, [1, 2]), v([1, 2, 3], 1, [1, 2]), v([1, 2, 3], 1, [1])] },
  '2-of-3 threshold decrease to 1-of-3 fails: old threshold not reached': { versions: [v([1, 2, 3], 2, [1, 2]), v([1, 2, 3], 1, [1])], fails: unsigned(1) },
  '1-of-2 threshold increase to 2-of-2': { versions: [v([1], 1, [1]), v([1, 2], 2, [1, 2])] },
  'rotation away and back to the first key': { versions: [v([0], 1, [0]), v([1], 1, [0, 1]), v([0], 1, [1, 0])] },
  'a later root fails after a good rotation': { versions: [v([0], 1, [0]), v([1], 1, [0, 1]), v([2], 1, [0, 2])], fails: unsigned(2) },
  'version jump fails even when properly signed': { versions: [v([0], 1, [0]), v([0], 1, [0], 3)], fails: { at: 1, error: BadVersionError, code: 'VERSION_JUMP' } },
  'a root key for another GUN fails': { versions: [v([0], 1, [0]), v([10], 1, [0, 10])], fails: { at: 1, error: RepositoryError, code: 'BAD_ROOT' } },
};

let pool: SimKey[] = [];
let sim0: RepositorySimulator;
before(async () => {
  sim0 = await RepositorySimulator.create();
  pool = await Promise.all(Array.from({ length: 10 }, () => sim0.newRootKey()));
  pool.push(await sim0.newRootKey({ commonName: 'example.com/someone-else' }));
});

async function build(c: Case): Promise<RepositorySimulator> {
  const sim = await RepositorySimulator.create({ gun: sim0.gun, now: sim0.now });
  for (const [i, r] of c.versions.entries()) {
    sim.setKeys('root', r.keys.map((k) => pool[k]!), r.threshold);
    await sim.publishRoot({ version: r.version ?? i + 1, signers: r.sigs.map((k) => pool[k]!) });
  }
  return sim;
}

const versionOf = (c: Case, i: number): number => c.versions[i]!.version ?? i + 1;

describe('root rotation table', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const sim = await build(c);
      // Client: walk version by version from v1.
      const set = sim.trust();
      const last = c.fails?.at ?? c.versions.length;
      for (let i = 1; i < c.versions.length; i++) {
        const bytes = sim.file('root', versionOf(c, i));
        if (i === c.fails?.at) {
          assert.throws(() => set.updateRoot(bytes), (e: unknown) => e instanceof c.fails!.error && (e as { code?: string }).code === c.fails!.code);
          break;
        }
        set.updateRoot(bytes);
      }
      assert.equal(set.root.signed.version, versionOf(c, last - 1));
      assert.doesNotThrow(() => set.updateTimestamp(sim.file('timestamp')));

      // Server: each root against its predecessor, +0/+1 allowed, judged as final.
      const parse = (i: number): Envelope<Root> => notaryCodec.parse(sim.file('root', versionOf(c, i)), 'root');
      for (let i = 1; i < c.versions.length; i++) {
        const check = (): void => verifyRootUpdate(parse(i - 1), parse(i), { gun: sim.gun, now: sim.now, rules: notaryRootKeyRules, versionSteps: [0, 1] });
        if (i === c.fails?.at) {
          assert.throws(check, c.fails.error);
          break;
        }
        assert.doesNotThrow(check);
      }
    });
  }
});

describe('verifyRootUpdate options', () => {
  it('lets the server accept a re-signed root of the same version but never the client', async () => {
    const sim = await RepositorySimulator.create();
    const first = notaryCodec.parse(sim.file('root', 1), 'root');
    await sim.publishRoot({ version: 1 }); // same version, fresh signature bytes
    const again = notaryCodec.parse(sim.file('root', 1), 'root');
    const base = { gun: sim.gun, now: sim.now, rules: notaryRootKeyRules };
    assert.doesNotThrow(() => verifyRootUpdate(first, again, { ...base, versionSteps: [0, 1] }));
    assert.throws(() => verifyRootUpdate(first, again, base), (e: unknown) => e instanceof BadVersionError && e.code === 'VERSION_EQUAL');
  });

  it('checks a first root (no trusted root) for self-signature and key validity only', async () => {
    const sim = await RepositorySimulator.create();
    await sim.publishRoot({ version: 7 });
    const root = notaryCodec.parse(sim.file('root', 7), 'root');
    assert.doesNotThrow(() => verifyRootUpdate(null, root, { gun: sim.gun, now: sim.now, rules: notaryRootKeyRules }));
    assert.throws(() => verifyRootUpdate(null, root, { gun: 'example.com/else', now: sim.now, rules: notaryRootKeyRules }), (e: unknown) => e instanceof RepositoryError && e.code === 'BAD_ROOT');
    // The final root's certificates must be valid at `now`; notBefore may be at most a day ahead.
    const early = new Date(sim.now.getTime() - 3 * 86400e3);
    assert.throws(() => verifyRootUpdate(null, root, { gun: sim.gun, now: early, rules: notaryRootKeyRules }), /not valid until/);
    assert.doesNotThrow(() => verifyRootUpdate(null, root, { gun: sim.gun, now: early, rules: notaryRootKeyRules, final: false }));
  });

  it('accepts plain root keys under the TUF 1.0 rule set', async () => {
    const sim = await RepositorySimulator.create();
    sim.setKeys('root', [RepositorySimulator.newKey('ed25519')]);
    await sim.publishRoot();
    const [r1, r2] = [1, 2].map((n) => notaryCodec.parse(sim.file('root', n), 'root'));
    assert.doesNotThrow(() => verifyRootUpdate(r1!, r2!, { gun: sim.gun, now: sim.now, rules: plainRootKeyRules }));
    assert.throws(() => verifyRootUpdate(r1!, r2!, { gun: sim.gun, now: sim.now, rules: notaryRootKeyRules }), /not a certificate/);
  });
});

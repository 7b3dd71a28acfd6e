// SPDX-License-Identifier: Apache-2.0
// Racing publishes (notary-wire.md §7, "Concurrency"): validation runs without
// a lock, the store lets exactly one of two publishes built on the same state
// in, the other gets VERSION; publishes to different GUNs never interfere.
// Runs on the embedded store and on PostgreSQL (skipped when unreachable).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VersionConflictError, type MetaStore, type MetaUpdate } from '../../../server/storage/meta-store.js';
import { FIXTURE_NOW } from '../../support/paths.js';
import { Clock, Publisher, clientRefresh, openEmbeddedStore, openPostgresStore, part, testService, type TestStore } from './support.js';

/**
 * The real store, except that updateMany waits until `n` writers have arrived:
 * every racer has finished validating against the same stored state.
 */
function withBarrier(store: MetaStore, n: number): MetaStore {
  let waiting: (() => void)[] = [];
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'updateMany') {
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      }
      return async (gun: string, updates: readonly MetaUpdate[]) => {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length >= n) {
            for (const r of waiting) r();
            waiting = [];
          }
        });
        return target.updateMany(gun, updates);
      };
    },
  });
}

const backends: [string, () => Promise<TestStore | null>][] = [
  ['embedded', () => openEmbeddedStore('race')],
  ['postgres', () => openPostgresStore('race')],
];

for (const [name, open] of backends) {
  describe(`concurrent publishes (${name})`, () => {
    let ts: TestStore | null;
    before(async () => {
      ts = await open();
    });
    after(() => ts?.close());

    it('two publishes to one GUN: one wins, the other gets VERSION, nothing is lost or mixed', async (t) => {
      if (ts === null) return t.skip('PostgreSQL not reachable');
      const clock = new Clock(FIXTURE_NOW);
      const service = testService(ts.store, clock);
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      await service.applyUpdate(p.gun, [part('root', await p.root()), part('targets', await p.targets('targets', { version: 1 }))]);

      const racing = testService(withBarrier(ts.store, 2), clock);
      for (let round = 2; round <= 4; round++) {
        const a = await p.targets('targets', { version: round, targets: { [`a${round}`]: 'a' } });
        const b = await p.targets('targets', { version: round, targets: { [`b${round}`]: 'b' } });
        const results = await Promise.allSettled([racing.applyUpdate(p.gun, [part('targets', a)]), racing.applyUpdate(p.gun, [part('targets', b)])]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: exactly one publish wins`);
        assert.ok(lost[0]!.reason instanceof VersionConflictError, String(lost[0]!.reason));
        const winner = results[0]!.status === 'fulfilled' ? a : b;
        assert.deepEqual((await service.getCurrent(p.gun, 'targets'))!.data, winner);
        // Snapshot and timestamp belong to the winner: a client walks the chain.
        const set = await clientRefresh(service, p.gun, clock.now());
        assert.equal(set.targets!.signed.version, round);
        assert.equal(set.timestamp!.signed.version, round);
      }
      assert.equal((await ts.store.getChanges({ gun: p.gun, changeId: 0, records: 100 })).length, 4);
    });

    it('parallel publishes to different GUNs all succeed', async (t) => {
      if (ts === null) return t.skip('PostgreSQL not reachable');
      const clock = new Clock(FIXTURE_NOW);
      const service = testService(ts.store, clock);
      const publishers = await Promise.all([1, 2, 3, 4, 5].map(() => Publisher.create(service, clock, { serverSnapshot: true })));
      const racing = testService(withBarrier(ts.store, publishers.length), clock);
      await Promise.all(publishers.map(async (p) => racing.applyUpdate(p.gun, [part('root', await p.root()), part('targets', await p.targets('targets', { version: 1 }))])));
      for (const p of publishers) await clientRefresh(service, p.gun, clock.now());
    });
  });
}

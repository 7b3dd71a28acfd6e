// SPDX-License-Identifier: Apache-2.0
// Property: for any sequence of publishes and deletes, the changefeed holds
// exactly the expected records, and every page (forward, backward, any
// change_id and records) equals Notary's paging applied to that list.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_CHANGE_RECORDS, type Change } from '../../../server/storage/meta-store.js';
import { openStore } from '../../../server/storage/open-store.js';
import type { SqlMetaStore } from '../../../server/storage/sql-meta-store.js';
import { allBackends, itOn, uniqueGun } from './backends.js';

type Op = { kind: 'publish' | 'delete'; gun: 0 | 1 };
type Entry = { gun: 0 | 1; category: Change['category']; version: number };

/** Notary's paging (server/storage/sqldb.go GetChanges), over a list in ID order. */
function page<T extends { id: number }>(list: readonly T[], changeId: number, records: number): T[] {
  const n = records === 0 ? DEFAULT_CHANGE_RECORDS : Math.abs(records);
  if (records >= 0 && changeId >= 0) return list.filter((c) => c.id > changeId).slice(0, n);
  const candidates = changeId > 0 ? list.filter((c) => c.id < changeId) : list;
  return candidates.slice(Math.max(0, candidates.length - n));
}

const opArb = fc.record({ kind: fc.constantFrom<Op['kind']>('publish', 'publish', 'delete'), gun: fc.constantFrom<0 | 1>(0, 1) });
const queryArb = fc.record({ gun: fc.constantFrom<0 | 1>(0, 1), pick: fc.nat(), shift: fc.integer({ min: -1, max: 1 }), records: fc.integer({ min: -6, max: 6 }), fromNewest: fc.boolean() });

for (const backend of await allBackends('changefeed-prop')) {
  describe(`changefeed paging property (${backend.name})`, () => {
    const it = itOn(backend);
    let store: SqlMetaStore;
    before(async () => {
      if (backend.skip === undefined) store = await openStore(backend.options);
    });
    after(async () => {
      await store?.close();
      await backend.cleanup();
    });

    it('matches a model of Notary paging for random histories and queries', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 10 }), fc.array(queryArb, { minLength: 1, maxLength: 8 }), async (ops, queries) => {
          const guns = [uniqueGun('feed'), uniqueGun('feed')] as const;
          const model: Entry[] = [];
          const version = [0, 0];
          const hasFiles = [false, false];
          for (const op of ops) {
            if (op.kind === 'publish') {
              const v = ++version[op.gun]!;
              await store.updateMany(guns[op.gun], [{ role: 'timestamp', version: v, data: Buffer.from(`ts ${v}`) }]);
              model.push({ gun: op.gun, category: 'update', version: v });
              hasFiles[op.gun] = true;
            } else {
              assert.equal(await store.deleteGun(guns[op.gun]), hasFiles[op.gun]);
              if (hasFiles[op.gun]) model.push({ gun: op.gun, category: 'deletion', version: 0 });
              hasFiles[op.gun] = false;
            }
          }
          const feeds = await Promise.all(guns.map((g) => store.getChanges({ gun: g, changeId: 0, records: 1000 })));
          const actual = feeds
            .flat()
            .map((c) => ({ id: Number(c.id), gun: c.gun === guns[0] ? 0 : 1, category: c.category, version: c.version }))
            .sort((a, b) => a.id - b.id);
          // The records, in commit order across both GUNs, are exactly the model's.
          assert.deepEqual(actual.map(({ gun, category, version: v }) => ({ gun, category, version: v })), model);
          for (const q of queries) {
            const list = actual.filter((c) => c.gun === q.gun);
            const anchor = list.length === 0 ? 1 : list[q.pick % list.length]!.id + q.shift;
            const changeId = q.fromNewest ? -1 : anchor;
            const got = await store.getChanges({ gun: guns[q.gun], changeId, records: q.records });
            assert.deepEqual(got.map((c) => Number(c.id)), page(list, changeId, q.records).map((c) => c.id), `gun ${q.gun}, change_id ${changeId}, records ${q.records}`);
          }
        }),
        { numRuns: 15 },
      );
    });
  });
}

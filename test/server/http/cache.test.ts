// SPDX-License-Identifier: Apache-2.0
// The response cache: its own rules (LRU by bytes, per-GUN invalidation, no
// stale fills, deadlines), and invalidation by store notifications when
// another process (a second store on the same PostgreSQL schema) publishes or
// deletes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import request from 'supertest';
import { fixture } from '../../support/paths.js';
import { ResponseCache, type CachedResponse } from '../../../server/http/cache.js';
import type { MetaStore } from '../../../server/storage/meta-store.js';
import { embeddedStore, makeApp, multipartBody, postgresReachable, postgresSchema, type TestApp } from './harness.js';
import { body, raw } from './capture-assert.js';

const entry = (bytes: number, expiresAt = Infinity): CachedResponse => ({ body: Buffer.alloc(bytes), headers: [], expiresAt });

describe('ResponseCache', () => {
  test('immutable entries are evicted least-recently-used first within the byte budget', () => {
    const c = new ResponseCache({ maxBytes: 800, maxEntries: 100, maxCurrentGuns: 10 });
    c.putImmutable('g', 'a', c.token('g'), entry(100));
    c.putImmutable('g', 'b', c.token('g'), entry(100));
    assert.ok(c.getImmutable('g', 'a')); // a is now young
    for (const k of ['c', 'd', 'e', 'f', 'g', 'h']) c.putImmutable('g', k, c.token('g'), entry(100));
    assert.equal(c.immutableBytes, 800);
    c.putImmutable('g', 'i', c.token('g'), entry(100));
    assert.equal(c.getImmutable('g', 'b'), undefined, 'b was the oldest');
    assert.ok(c.getImmutable('g', 'a'));
    c.putImmutable('g', 'huge', c.token('g'), entry(200));
    assert.equal(c.getImmutable('g', 'huge'), undefined, 'larger than 1/8 of the budget: not cached');
  });
  test('invalidating a GUN drops its current and immutable entries only', () => {
    const c = new ResponseCache();
    c.putCurrent('a', 'root', c.token('a'), entry(1));
    c.putCurrent('b', 'root', c.token('b'), entry(1));
    c.putImmutable('a', 'v1', c.token('a'), entry(1));
    c.putImmutable('ab', 'v1', c.token('ab'), entry(1));
    c.invalidate('a');
    assert.equal(c.getCurrent('a', 'root', 0), undefined);
    assert.equal(c.getImmutable('a', 'v1'), undefined);
    assert.ok(c.getCurrent('b', 'root', 0));
    assert.ok(c.getImmutable('ab', 'v1'), 'a GUN sharing the prefix keeps its entries');
  });
  test('a fill that started before an invalidation is dropped (no stale bytes after a publish)', () => {
    const c = new ResponseCache();
    const token = c.token('g');
    c.invalidate('g'); // a publish lands while the slow read is in progress
    c.putCurrent('g', 'timestamp', token, entry(1));
    c.putImmutable('g', 'v1', token, entry(1));
    assert.equal(c.getCurrent('g', 'timestamp', 0), undefined);
    assert.equal(c.getImmutable('g', 'v1'), undefined);
  });
  test('current entries end at their deadline; a disabled current cache neither serves nor fills', () => {
    const c = new ResponseCache();
    c.putCurrent('g', 'timestamp', c.token('g'), entry(1, 1000));
    assert.ok(c.getCurrent('g', 'timestamp', 999));
    assert.equal(c.getCurrent('g', 'timestamp', 1000), undefined);
    c.currentEnabled = false;
    c.putCurrent('g', 'root', c.token('g'), entry(1));
    assert.equal(c.getCurrent('g', 'root', 0), undefined);
    c.currentEnabled = true;
    assert.equal(c.getCurrent('g', 'root', 0), undefined);
  });
  test('invalidateAll forgets everything and rejects fills begun before it', () => {
    const c = new ResponseCache();
    const token = c.token('x');
    c.putImmutable('g', 'v1', c.token('g'), entry(5));
    c.invalidateAll();
    assert.equal(c.getImmutable('g', 'v1'), undefined);
    assert.equal(c.immutableBytes, 0);
    c.putCurrent('x', 'root', token, entry(1));
    assert.equal(c.getCurrent('x', 'root', 0), undefined);
  });
});

const file = (name: string): Buffer => fs.readFileSync(fixture('server', name));

describe('invalidation by another process on the same PostgreSQL database', async () => {
  const reachable = await postgresReachable();
  const pg = postgresSchema();
  let storeA: MetaStore;
  let storeB: MetaStore;
  let t: TestApp;
  const GUN = 'example.com/shared';

  before(async () => {
    if (!reachable) return;
    storeA = await pg.open();
    storeB = await pg.open();
    // A long TTL: only a notification can make the new bytes visible quickly.
    t = await makeApp({ currentTtlMs: 600_000 }, storeA);
    await storeB.updateMany(GUN, [
      { role: 'root', version: 1, data: file('1.root.json') },
      { role: 'targets', version: 4, data: file('targets.json') },
    ]);
  });
  after(async () => {
    if (!reachable) return;
    await t.close();
    await storeA.close();
    await storeB.close();
    await pg.drop();
  });

  const get = (p: string): request.Test => raw(request(t.app.handler).get(p));
  async function eventually(p: string, want: (status: number, b: Buffer) => boolean): Promise<number> {
    const started = Date.now();
    for (;;) {
      const res = await get(p);
      if (want(res.status, body(res))) return Date.now() - started;
      if (Date.now() - started > 5000) assert.fail(`${p} still stale after 5 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test('a publish by the other process is served within moments', { skip: reachable ? false : 'PostgreSQL not reachable' }, async () => {
    const p = `/v2/${GUN}/_trust/tuf/targets.json`;
    assert.ok(body(await get(p)).equals(file('targets.json')));
    assert.ok(body(await get(p)).equals(file('targets.json')), 'now cached');
    const newer = file('targets/releases.json'); // any bytes: the store does not validate
    await storeB.updateMany(GUN, [{ role: 'targets', version: 5, data: newer }]);
    const ms = await eventually(p, (_s, b) => b.equals(newer));
    assert.ok(ms < 5000);
  });

  test('a delete by the other process removes cached consistent copies too', { skip: reachable ? false : 'PostgreSQL not reachable' }, async () => {
    const p = `/v2/${GUN}/_trust/tuf/1.root.json`;
    assert.equal((await get(p)).status, 200);
    assert.equal((await get(p)).status, 200);
    await storeB.deleteGun(GUN);
    await eventually(p, (s) => s === 404);
  });
});

/** Every method of `s` but subscribe: an app on it cannot hear about writes it did not make itself. */
function withoutNotifications(s: MetaStore): MetaStore {
  return {
    updateMany: (g, u) => s.updateMany(g, u),
    getCurrent: (g, r) => s.getCurrent(g, r),
    getCurrentMany: (g, r) => s.getCurrentMany(g, r),
    getByVersion: (g, r, v) => s.getByVersion(g, r, v),
    getByChecksum: (g, r, h) => s.getByChecksum(g, r, h),
    deleteGun: (g) => s.deleteGun(g),
    getChanges: (q) => s.getChanges(q),
    latestChangeId: () => s.latestChangeId(),
    getServerKeys: (g, r) => s.getServerKeys(g, r),
    addServerKey: (k) => s.addServerKey(k),
    newestServerKey: () => s.newestServerKey(),
    ping: () => s.ping(),
    close: () => s.close(),
  };
}

/**
 * An app on an embedded store seen through `view`, holding root v1 and targets v4 of `gun`; the
 * enclosing describe's hooks open and close it.
 */
function appOnRepo(gun: string, view: (s: MetaStore) => MetaStore): { readonly handler: () => TestApp['app']['handler']; readonly store: () => MetaStore; get(p: string): request.Test } {
  let t: TestApp;
  let store: Awaited<ReturnType<typeof embeddedStore>>;
  before(async () => {
    store = await embeddedStore();
    t = await makeApp({ currentTtlMs: 600_000 }, view(store.store));
    await store.store.updateMany(gun, [
      { role: 'root', version: 1, data: file('1.root.json') },
      { role: 'targets', version: 4, data: file('targets.json') },
    ]);
  });
  after(async () => {
    await t.close();
    await store.cleanup();
  });
  return { handler: () => t.app.handler, store: () => store.store, get: (p) => raw(request(t.app.handler).get(p)) };
}

describe('a store without notifications: local publishes and deletes still invalidate', () => {
  const GUN = 'example.com/local';
  const repo = appOnRepo(GUN, withoutNotifications);
  const get = (p: string): request.Test => repo.get(p);

  test('a publish attempt through this server drops the cached current metadata, even when refused', async () => {
    const p = `/v2/${GUN}/_trust/tuf/targets.json`;
    assert.ok(body(await get(p)).equals(file('targets.json')));
    const newer = file('targets/jenkins.json');
    await repo.store().updateMany(GUN, [{ role: 'targets', version: 5, data: newer }]);
    assert.ok(body(await get(p)).equals(file('targets.json')), 'unseen write: the cache still answers');
    const { body: b, contentType } = multipartBody([{ filename: 'targets', data: file('targets.json') }]);
    const refused = await raw(request(repo.handler()).post(`/v2/${GUN}/_trust/tuf/`).set('Content-Type', contentType).send(b));
    assert.equal(refused.status, 400);
    assert.ok(body(await get(p)).equals(newer));
  });
  test('a DELETE through this server drops current and consistent copies', async () => {
    assert.equal((await get(`/v2/${GUN}/_trust/tuf/1.root.json`)).status, 200);
    assert.equal((await get(`/v2/${GUN}/_trust/tuf/root.json`)).status, 200);
    assert.equal((await raw(request(repo.handler()).delete(`/v2/${GUN}/_trust/tuf/`))).status, 200);
    assert.equal((await get(`/v2/${GUN}/_trust/tuf/1.root.json`)).status, 404);
    assert.equal((await get(`/v2/${GUN}/_trust/tuf/root.json`)).status, 404);
  });
});

describe('notifications interrupted: no current metadata is cached until they resume', () => {
  const GUN = 'example.com/gap';
  /** While true, the app hears nothing of writes (as while its LISTEN connection is down). */
  let gap = false;
  let reset: ((listening: boolean) => void) | undefined;
  const repo = appOnRepo(GUN, (s) => ({
    ...withoutNotifications(s),
    subscribe: (onChange, onReset) => {
      reset = onReset;
      return s.subscribe!((g) => {
        if (!gap) onChange(g);
      });
    },
  }));
  const get = (p: string): request.Test => repo.get(p);

  test('a write missed during the gap is served at once, and caching returns with the notifications', async () => {
    const p = `/v2/${GUN}/_trust/tuf/targets.json`;
    assert.ok(body(await get(p)).equals(file('targets.json')));
    gap = true;
    reset!(false);
    assert.ok(body(await get(p)).equals(file('targets.json')));
    const newer = file('targets/jenkins.json');
    await repo.store().updateMany(GUN, [{ role: 'targets', version: 5, data: newer }]);
    assert.ok(body(await get(p)).equals(newer), 'the unseen write is visible: nothing was cached during the gap');
    gap = false;
    reset!(true);
    assert.ok(body(await get(p)).equals(newer));
    const newest = file('targets/releases.json');
    await repo.store().updateMany(GUN, [{ role: 'targets', version: 6, data: newest }]);
    assert.ok(body(await get(p)).equals(newest), 'notified again: the write dropped the cached copy');
  });
});

describe('health', () => {
  test('503 with the failing check when the database is gone', async () => {
    const t = await makeApp();
    try {
      assert.equal((await raw(request(t.app.handler).get('/_notary_server/health'))).status, 200);
      await t.store.close();
      const res = await raw(request(t.app.handler).get('/_notary_server/health'));
      assert.equal(res.status, 503);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      const checks = JSON.parse(body(res).toString()) as Record<string, string>;
      assert.deepEqual(Object.keys(checks), ['DB operational']);
      assert.match(checks['DB operational']!, /store is closed/);
    } finally {
      await t.close();
    }
  });
});

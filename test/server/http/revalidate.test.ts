// SPDX-License-Identifier: Apache-2.0
// Current metadata on a store shared by several processes (sharedStore,
// what main.ts sets for PostgreSQL): served from the cache only after a
// changefeed check issued after the request arrived, so another process's
// acknowledged publish is visible to the very next request even when no
// change notification arrives; repeated reads without changes stay cache hits.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { createApp, type App } from '../../../server/app.js';
import { createMetrics } from '../../../server/metrics.js';
import { CacheRevalidator } from '../../../server/http/revalidate.js';
import { ResponseCache, type CachedResponse } from '../../../server/http/cache.js';
import type { Change, ChangeQuery, MetaStore } from '../../../server/storage/meta-store.js';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { BenchGun, type PublishBody } from '../../../bench/server-repo.js';
import { captureLogger, postgresReachable, postgresSchema, testService } from './harness.js';

const entry = (): CachedResponse => ({ body: Buffer.from('x'), headers: [], expiresAt: Infinity });
const change = (id: number, gun: string): Change => ({ id: String(id), createdAt: new Date(0), gun, version: 1, sha256: '', category: 'update' });

/** A changefeed whose answers the test releases by hand, to pin down when checks are issued. */
class ManualFeed {
  records: Change[] = [];
  readonly queries: { query: ChangeQuery; release: () => void }[] = [];
  latestChangeId(): Promise<number> {
    return new Promise((resolve) => {
      this.queries.push({ query: { changeId: -1, records: -1 }, release: () => resolve(Number(this.records.at(-1)?.id ?? 0)) });
    });
  }
  getChanges(query: ChangeQuery): Promise<Change[]> {
    return new Promise((resolve) => {
      const answer = (): void => {
        if (query.changeId < 0) resolve(this.records.slice(-1));
        else resolve(this.records.filter((c) => Number(c.id) > query.changeId).slice(0, query.records));
      };
      this.queries.push({ query, release: answer });
    });
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('CacheRevalidator', () => {
  test('requests arriving during a check share the next check, not the one already sent', async () => {
    const feed = new ManualFeed();
    const cache = new ResponseCache();
    const r = new CacheRevalidator(feed, cache);
    const first = r.sync();
    await tick();
    assert.equal(feed.queries.length, 1);
    // Three requests arrive while the first check is on its way: it may predate their clients' writes.
    let laterDone = 0;
    const later = [r.sync(), r.sync(), r.sync()].map((p) => p.then(() => laterDone++));
    feed.records.push(change(1, 'a'));
    feed.queries[0]!.release();
    await first;
    await tick();
    assert.equal(laterDone, 0, 'the later requests were released by a check sent before they arrived');
    assert.equal(feed.queries.length, 2, 'one shared follow-up check');
    feed.queries[1]!.release();
    await Promise.all(later);
    assert.equal(laterDone, 3);
  });

  test('a check drops exactly the GUNs changed since the last one', async () => {
    const feed = new ManualFeed();
    const cache = new ResponseCache();
    const r = new CacheRevalidator(feed, cache);
    feed.records.push(change(4, 'a'));
    const settle = async (p: Promise<void>): Promise<void> => {
      for (let i = 0; i < 10 && feed.queries.length > 0; i++) {
        feed.queries.shift()!.release();
        await tick();
      }
      await p;
    };
    await settle(r.sync());
    for (const g of ['a', 'b', 'c']) cache.putCurrent(g, 'timestamp', cache.token(g), entry());
    feed.records.push(change(5, 'b'), change(6, 'b'));
    await settle(r.sync());
    assert.ok(cache.getCurrent('a', 'timestamp', 0), 'unchanged GUN kept');
    assert.equal(cache.getCurrent('b', 'timestamp', 0), undefined, 'changed GUN dropped');
    assert.ok(cache.getCurrent('c', 'timestamp', 0));
    await settle(r.sync());
    assert.ok(cache.getCurrent('a', 'timestamp', 0), 'no change, nothing dropped');
  });
});

const pgSkip = (await postgresReachable()) ? false : 'PostgreSQL is not reachable at SIGNET_TEST_DATABASE_URL';

describe('current metadata across processes on PostgreSQL', { skip: pgSkip }, () => {
  const schema = postgresSchema();
  let writerStore: MetaStore;
  let readerStore: MetaStore;
  let writer: App;
  let reader: App;
  const GUN = 'example.com/revalidate';
  const OTHER = 'example.com/revalidate-other';

  before(async () => {
    writerStore = await schema.open();
    readerStore = await schema.open();
    writer = createApp({ service: testService(writerStore), store: writerStore, logger: captureLogger().logger, metrics: createMetrics({ processMetrics: false }) });
    // The reader hears no notifications (no subscribe): only revalidation can tell it about the writer's publishes.
    const feedOnly: Pick<MetaStore, 'getChanges' | 'latestChangeId' | 'ping'> = { getChanges: (q) => readerStore.getChanges(q), latestChangeId: () => readerStore.latestChangeId(), ping: () => readerStore.ping() };
    reader = createApp({ service: testService(readerStore), store: feedOnly, logger: captureLogger().logger, metrics: createMetrics({ processMetrics: false }), sharedStore: true });
    await Promise.all([writer.ready, reader.ready]);
  });

  after(async () => {
    await writer?.close();
    await reader?.close();
    await writerStore?.close();
    await readerStore?.close();
    await schema.drop();
  });

  async function publish(gun: string, body: PublishBody): Promise<void> {
    const res = await request(writer.handler).post(`/v2/${gun}/_trust/tuf/`).set('Content-Type', body.contentType).send(body.body);
    assert.equal(res.status, 200, res.text);
  }

  async function initGun(gun: string): Promise<{ g: BenchGun; root: Buffer }> {
    const g = await BenchGun.create(gun);
    const keyRes = await request(writer.handler).get(`/v2/${gun}/_trust/tuf/timestamp.key`);
    const { root, body } = await g.initialPublish(notaryCodec.parseKey(JSON.parse(keyRes.text), 'timestamp.key'));
    await publish(gun, body);
    return { g, root };
  }

  const hits = async (app: App): Promise<number> => {
    const text = await app.metrics.registry.getSingleMetricAsString('signet_metadata_cache_lookups_total');
    return Number(/result="hit"} (\d+)/.exec(text)?.[1] ?? 0);
  };
  const targetsVia = async (app: App, gun: string): Promise<Buffer> => {
    const res = await request(app.handler).get(`/v2/${gun}/_trust/tuf/targets.json`).buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    assert.equal(res.status, 200);
    return res.body as Buffer;
  };

  test("another process's acknowledged publish is served by the very next request", async () => {
    const { g, root } = await initGun(GUN);
    assert.deepEqual(await targetsVia(reader, GUN), await g.targetsVersion(1));
    assert.deepEqual(await targetsVia(reader, GUN), await g.targetsVersion(1)); // now cached
    const [v2] = await g.publishSequence(root, 2, 1);
    await publish(GUN, v2!);
    assert.deepEqual(await targetsVia(reader, GUN), await g.targetsVersion(2), 'stale targets served after a publish elsewhere');
  });

  test('without changes, and with changes to other GUNs only, reads are cache hits', async () => {
    await targetsVia(reader, GUN);
    const before = await hits(reader);
    await targetsVia(reader, GUN);
    await targetsVia(reader, GUN);
    assert.equal((await hits(reader)) - before, 2);
    await initGun(OTHER);
    await targetsVia(reader, GUN);
    assert.equal((await hits(reader)) - before, 3, "another GUN's publish dropped this GUN's entry");
  });

  test("metadata by version and by checksum is not served from the cache after another process's delete", async () => {
    const gun = 'example.com/revalidate-deleted';
    await initGun(gun);
    const root = await request(reader.handler).get(`/v2/${gun}/_trust/tuf/root.json`);
    const sha = createHash('sha256').update(root.text).digest('hex');
    for (const p of [`/v2/${gun}/_trust/tuf/1.root.json`, `/v2/${gun}/_trust/tuf/root.${sha}.json`]) {
      assert.equal((await request(reader.handler).get(p)).status, 200);
      assert.equal((await request(reader.handler).get(p)).status, 200); // now cached
    }
    assert.equal((await request(writer.handler).delete(`/v2/${gun}/_trust/tuf/`)).status, 200);
    for (const p of [`/v2/${gun}/_trust/tuf/1.root.json`, `/v2/${gun}/_trust/tuf/root.${sha}.json`]) {
      assert.equal((await request(reader.handler).get(p)).status, 404, p);
    }
  });
});

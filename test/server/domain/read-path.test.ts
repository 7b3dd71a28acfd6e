// SPDX-License-Identifier: Apache-2.0
// Keeping a quiet repository fresh: getCurrent re-signs an expired timestamp
// (and an expired server-held snapshot) and stores it, and the background
// refresher re-signs ahead of expiry with bounded work per tick.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, TokenError } from '../../../shared/errors.js';
import { createTimestampRefresher } from '../../../server/domain/refresher.js';
import { FIXTURE_NOW } from '../../support/paths.js';
import { UpdateRefusalError } from '../../../server/domain/errors.js';
import type { ServerSigner } from '../../../server/signer/server-signer.js';
import { Clock, DAY_MS, Publisher, clientRefresh, openEmbeddedStore, part, testService, testSigner, type TestStore } from './support.js';

describe('read path: lazy and background re-signing', () => {
  let ts: TestStore;
  before(async () => {
    ts = await openEmbeddedStore('read');
  });
  after(() => ts.close());

  async function published(clock: Clock, service: ReturnType<typeof testService>, serverSnapshot = true): Promise<Publisher> {
    const p = await Publisher.create(service, clock, { serverSnapshot });
    const root = await p.root();
    const targets = await p.targets('targets', { version: 1 });
    const parts = [part('root', root), part('targets', targets)];
    if (!serverSnapshot) parts.push(part('snapshot', await p.snapshot(1, { root, targets }, [p.snapshotKey], p.expiresIn(20))));
    await service.applyUpdate(p.gun, parts);
    return p;
  }

  type Unplugged = 'missing' | 'failing';
  /**
   * The test signer, with a switch that makes its keys unavailable: `missing` as a key store that
   * holds none of them, `failing` as a token that was unplugged (its calls throw).
   */
  function unpluggable(when: Unplugged, roles: readonly string[] = ['timestamp', 'snapshot']): { signer: ServerSigner; plugged: { value: boolean }; asked: { calls: number } } {
    const inner = testSigner(ts.store);
    const plugged = { value: true };
    const asked = { calls: 0 };
    const gone = (): never => {
      throw new TokenError('TOKEN_MISSING', 'cannot list the keys (CKR_DEVICE_REMOVED): insert the token, then try again');
    };
    return {
      plugged,
      asked,
      signer: {
        keysInStore: inner.keysInStore,
        listKeys: (gun, role) => {
          asked.calls++;
          return plugged.value || when === 'missing' || !roles.includes(role) ? inner.listKeys(gun, role) : gone();
        },
        createKey: (gun, role) => inner.createKey(gun, role),
        forgetKeys: (gun) => inner.forgetKeys(gun),
        getSigner: async (gun, role, keyId) => {
          asked.calls++;
          if (plugged.value || !roles.includes(role)) return inner.getSigner(gun, role, keyId);
          return when === 'missing' ? null : gone();
        },
      },
    };
  }
  const blockedBy: Record<Unplugged, (e: unknown) => boolean> = {
    missing: (e) => e instanceof UpdateRefusalError && /no timestamp keys exist on the server/.test(e.message),
    failing: (e) => e instanceof TokenError && e.code === 'TOKEN_MISSING',
  };

  describe('getCurrent', () => {
    it('returns a valid timestamp unchanged and records nothing', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const service = testService(ts.store, clock);
      const p = await published(clock, service);
      const first = (await service.getCurrent(p.gun, 'timestamp'))!;
      clock.advance(13 * DAY_MS);
      assert.deepEqual((await service.getCurrent(p.gun, 'timestamp'))!.data, first.data);
      assert.equal((await ts.store.getChanges({ gun: p.gun, changeId: 0, records: 10 })).length, 1);
    });

    it('a repeat read of an unchanged repository is one store read, and an expired timestamp is still re-signed', async () => {
      const clock = new Clock(FIXTURE_NOW);
      let reads = 0;
      const counting = new Proxy(ts.store, {
        get(target, prop, receiver) {
          const value: unknown = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (typeof prop === 'string' && prop.startsWith('get')) reads++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const service = testService(counting, clock);
      const p = await published(clock, service);
      const first = (await service.getCurrent(p.gun, 'timestamp'))!;
      reads = 0;
      clock.advance(30_000);
      assert.deepEqual((await service.getCurrent(p.gun, 'timestamp'))!.data, first.data);
      assert.equal(reads, 1, 'only the timestamp row was read');
      // Another process publishing changes the stored bytes: the full check runs again.
      const other = testService(ts.store, clock);
      await other.applyUpdate(p.gun, [part('targets', await p.targets('targets', { version: 2 }))]);
      reads = 0;
      const afterPublish = (await service.getCurrent(p.gun, 'timestamp'))!;
      assert.notDeepEqual(afterPublish.data, first.data);
      assert.ok(reads > 1, `the changed timestamp was checked in full (${reads} reads)`);
      clock.advance(15 * DAY_MS);
      assert.equal((await service.getCurrent(p.gun, 'timestamp'))!.version, afterPublish.version + 1, 'expired: re-signed despite the remembered answer');
    });

    it('re-signs and stores an expired timestamp; a client accepts it; the changefeed records it', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const service = testService(ts.store, clock);
      const p = await published(clock, service);
      clock.advance(15 * DAY_MS);
      const fresh = (await service.getCurrent(p.gun, 'timestamp'))!;
      assert.equal(fresh.version, 2);
      const set = await clientRefresh(service, p.gun, clock.now());
      assert.equal(set.timestamp!.signed.expires.ms, clock.now().getTime() + 14 * DAY_MS);
      assert.equal(set.snapshot!.signed.version, 1, 'the snapshot was still valid and is kept');
      const changes = await ts.store.getChanges({ gun: p.gun, changeId: 0, records: 10 });
      assert.deepEqual(changes.map((c) => [c.version, c.sha256]).at(-1), [2, fresh.sha256]);
    });

    it('re-signs an expired server-held snapshot together with the timestamp', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const service = testService(ts.store, clock, { lifetimes: { snapshot: 20 * 24 * 3600 } });
      const p = await published(clock, service);
      clock.advance(21 * DAY_MS);
      const set = await clientRefresh(service, p.gun, clock.now());
      assert.equal(set.snapshot!.signed.version, 2);
      assert.equal(set.timestamp!.signed.version, 2);
      assert.equal((await service.getCurrent(p.gun, 'snapshot'))!.version, 2);
    });

    it('cannot re-sign a client-held snapshot: only the expired timestamp is re-signed', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const service = testService(ts.store, clock);
      const p = await published(clock, service, false);
      const snapshot = (await service.getCurrent(p.gun, 'snapshot'))!;
      clock.advance(21 * DAY_MS);
      assert.equal((await service.getCurrent(p.gun, 'timestamp'))!.version, 2);
      assert.deepEqual((await service.getCurrent(p.gun, 'snapshot'))!.data, snapshot.data);
    });

    it('concurrent reads of an expired timestamp store one new version', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const service = testService(ts.store, clock);
      const p = await published(clock, service);
      clock.advance(15 * DAY_MS);
      const results = await Promise.all([1, 2, 3, 4].map(() => service.getCurrent(p.gun, 'timestamp')));
      assert.deepEqual(new Set(results.map((r) => r!.version)), new Set([2]));
      assert.equal((await ts.store.getChanges({ gun: p.gun, changeId: 0, records: 10 })).length, 2);
    });

    for (const when of ['missing', 'failing'] as const) {
      it(`an expired timestamp whose key is ${when} is served as it is, and re-signed by a read once the key is back`, async () => {
        const clock = new Clock(FIXTURE_NOW);
        const { signer, plugged, asked } = unpluggable(when);
        const service = testService(ts.store, clock, { signer });
        const p = await published(clock, service);
        const stale = (await service.getCurrent(p.gun, 'timestamp'))!;
        clock.advance(15 * DAY_MS);
        plugged.value = false;
        asked.calls = 0;
        assert.deepEqual((await service.getCurrent(p.gun, 'timestamp'))!.data, stale.data, 'stale, not an error');
        const calls = asked.calls;
        assert.ok(calls >= 1);
        clock.advance(30_000);
        assert.deepEqual((await service.getCurrent(p.gun, 'timestamp'))!.data, stale.data);
        assert.equal(asked.calls, calls, 'reads within a minute do not ask the unavailable signer again');
        plugged.value = true;
        clock.advance(31_000);
        assert.equal((await service.getCurrent(p.gun, 'timestamp'))!.version, stale.version + 1);
      });
    }

    it('a valid timestamp is served while the token is unplugged, by a server that has not read it before', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const { signer, plugged } = unpluggable('failing');
      const p = await published(clock, testService(ts.store, clock, { signer }));
      const stored = (await ts.store.getCurrent(p.gun, 'timestamp'))!;
      plugged.value = false;
      const restarted = testService(ts.store, clock, { signer });
      assert.deepEqual((await restarted.getCurrent(p.gun, 'timestamp'))!.data, stored.data);
      assert.equal((await restarted.getCurrent(p.gun, 'snapshot'))!.version, 1);
    });

    it('a failing snapshot key does not stop an expired timestamp from being re-signed', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const { signer, plugged } = unpluggable('failing', ['snapshot']);
      const service = testService(ts.store, clock, { signer });
      const p = await published(clock, service);
      clock.advance(15 * DAY_MS);
      plugged.value = false;
      assert.equal((await service.getCurrent(p.gun, 'timestamp'))!.version, 2);
      const set = await clientRefresh(service, p.gun, clock.now());
      assert.equal(set.timestamp!.signed.expires.ms, clock.now().getTime() + 14 * DAY_MS);
    });

    it('a timestamp served while the signer is unavailable is re-checked when it expires, even within the minute', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const { signer, plugged } = unpluggable('failing');
      const service = testService(ts.store, clock, { signer });
      const p = await published(clock, service);
      const first = (await ts.store.getCurrent(p.gun, 'timestamp'))!;
      clock.advance(14 * DAY_MS - 30_000); // 30 s before the timestamp expires
      plugged.value = false;
      const restarted = testService(ts.store, clock, { signer });
      assert.deepEqual((await restarted.getCurrent(p.gun, 'timestamp'))!.data, first.data);
      plugged.value = true;
      clock.advance(40_000);
      assert.equal((await restarted.getCurrent(p.gun, 'timestamp'))!.version, first.version + 1);
    });

    it('answers null for a repository that does not exist', async () => {
      const service = testService(ts.store, new Clock(FIXTURE_NOW));
      for (const role of ['root', 'targets', 'snapshot', 'timestamp']) assert.equal(await service.getCurrent('example.com/none', role), null);
    });
  });

  describe('background refresher', () => {
    it('re-signs timestamps entering their margin, leaves fresh ones, forgets deleted repositories', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const service = testService(ts.store, clock);
      const refresher = createTimestampRefresher({ service, store: ts.store, now: clock.now, maxResignsPerTick: 1000 });
      const quiet = await published(clock, service);
      const gone = await published(clock, service);
      let report = await refresher.tick();
      assert.equal(report.resigned, 0, 'nothing is due yet');

      // 11 days on, the 14-day timestamps are inside the 3.5-day margin; a fresh publish is not.
      clock.advance(11 * DAY_MS);
      const fresh = await published(clock, service);
      await service.deleteGun(gone.gun);
      report = await refresher.tick();
      assert.ok(report.resigned >= 1);
      assert.equal((await ts.store.getCurrent(quiet.gun, 'timestamp'))!.version, 2, 'quiet repository re-signed');
      assert.equal((await ts.store.getCurrent(fresh.gun, 'timestamp'))!.version, 1, 'fresh repository untouched');
      assert.equal(await ts.store.getCurrent(gone.gun, 'timestamp'), null);
      const set = await clientRefresh(service, quiet.gun, clock.now());
      assert.equal(set.timestamp!.signed.expires.ms, clock.now().getTime() + 14 * DAY_MS);

      report = await refresher.tick();
      assert.equal(report.resigned, 0, 'nothing due right after a tick');
    });

    for (const when of ['missing', 'failing'] as const) {
      it(`a repository whose timestamp key is ${when} is reported, kept, and re-signed by a later tick`, async () => {
        const clock = new Clock(FIXTURE_NOW);
        const { signer, plugged } = unpluggable(when);
        const service = testService(ts.store, clock, { signer });
        const errors: Array<[string, unknown]> = [];
        const intervalMs = 10 * 60 * 1000;
        const refresher = createTimestampRefresher({ service, store: ts.store, now: clock.now, intervalMs, maxResignsPerTick: 1000, onError: (gun, e) => errors.push([gun, e]) });
        const p = await published(clock, service);
        await refresher.tick();
        clock.advance(11 * DAY_MS);
        plugged.value = false;
        let report = await refresher.tick();
        assert.ok(report.failed >= 1, JSON.stringify(report));
        const mine = errors.filter(([gun]) => gun === p.gun);
        assert.equal(mine.length, 1);
        assert.ok(blockedBy[when](mine[0]![1]), String(mine[0]![1]));
        assert.equal((await ts.store.getCurrent(p.gun, 'timestamp'))!.version, 1);

        plugged.value = true;
        clock.advance(intervalMs);
        report = await refresher.tick();
        assert.equal((await ts.store.getCurrent(p.gun, 'timestamp'))!.version, 1, 'a failed repository waits its retry interval');
        clock.advance(6 * intervalMs);
        report = await refresher.tick();
        assert.equal((await ts.store.getCurrent(p.gun, 'timestamp'))!.version, 2, 'retried and re-signed once the key is back');
      });
    }

    it('a failing snapshot key is reported while the due timestamp is re-signed', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const { signer, plugged } = unpluggable('failing', ['snapshot']);
      const service = testService(ts.store, clock, { signer });
      const errors: unknown[] = [];
      const refresher = createTimestampRefresher({ service, store: ts.store, now: clock.now, maxResignsPerTick: 1000, onError: (gun, e) => gun === p.gun && errors.push(e) });
      const p = await published(clock, service);
      await refresher.tick();
      clock.advance(11 * DAY_MS);
      plugged.value = false;
      await refresher.tick();
      assert.equal((await ts.store.getCurrent(p.gun, 'timestamp'))!.version, 2);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof TokenError, String(errors[0]));
    });

    it('bounds the re-signing work of one tick', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const service = testService(ts.store, clock);
      const refresher = createTimestampRefresher({ service, store: ts.store, now: clock.now, maxResignsPerTick: 2, changesPerTick: 3 });
      for (let i = 0; i < 3; i++) await published(clock, service);
      clock.advance(11 * DAY_MS);
      let total = 0;
      for (let i = 0; i < 20; i++) {
        const report = await refresher.tick();
        assert.ok(report.inspected <= 2 && report.changesRead <= 3, JSON.stringify(report));
        total += report.resigned;
        if (report.inspected === 0 && report.changesRead === 0) break;
      }
      assert.ok(total >= 3);
    });

    it('refuses settings that would let timestamps expire between ticks', () => {
      const service = testService(ts.store, new Clock(FIXTURE_NOW));
      assert.throws(() => createTimestampRefresher({ service, store: ts.store, intervalMs: 2 * DAY_MS }), ConfigError);
      assert.throws(() => createTimestampRefresher({ service, store: ts.store, marginFraction: 1.5 }), ConfigError);
    });

    it('start/stop ticks in the background without keeping the process alive', async () => {
      const clock = new Clock(FIXTURE_NOW);
      const service = testService(ts.store, clock);
      let errors = 0;
      const refresher = createTimestampRefresher({ service, store: ts.store, now: clock.now, intervalMs: 1000, onError: () => errors++ });
      refresher.start();
      await new Promise((r) => setTimeout(r, 300));
      await refresher.stop();
      assert.equal(errors, 0);
    });
  });
});

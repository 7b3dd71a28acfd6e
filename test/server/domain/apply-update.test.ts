// SPDX-License-Identifier: Apache-2.0
// applyUpdate, steps 1-4 and 6b-8 (notary-wire.md §7): parsing, root checks,
// server-signed snapshot and timestamp, storing. Targets, delegations and
// client snapshots are in targets-snapshot.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { DeserializationError } from '../../../shared/errors.js';
import { sha256Hex } from '../../../shared/crypto/digest.js';
import { roleMetaFromBytes } from '../../../shared/tuf/file-meta.js';
import type { FileMeta } from '../../../shared/tuf/model.js';
import { VersionConflictError } from '../../../server/storage/meta-store.js';
import { FIXTURE_NOW } from '../../support/paths.js';
import { RepositorySimulator } from '../../support/repository-simulator.js';
import { Clock, DAY_MS, Publisher, assertCode, assertRefused, clientRefresh, openEmbeddedStore, part, testService, type TestStore } from './support.js';

describe('applyUpdate: parsing, root, server-signed snapshot and timestamp', () => {
  let ts: TestStore;
  const clock = new Clock(FIXTURE_NOW);
  let service: ReturnType<typeof testService>;
  before(async () => {
    ts = await openEmbeddedStore('apply');
    service = testService(ts.store, clock);
  });
  after(() => ts.close());

  async function initialised(serverSnapshot = true): Promise<Publisher> {
    const p = await Publisher.create(service, clock, { serverSnapshot });
    const parts = [part('root', await p.root()), part('targets', await p.targets('targets', { version: 1 }))];
    await service.applyUpdate(p.gun, parts);
    return p;
  }

  describe('accepted publishes', () => {
    it('first publish without snapshot: the server signs snapshot v1 and timestamp v1 that a client verifies', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      const root = await p.root();
      const targets = await p.targets('targets', { version: 1, targets: { 'v1.0.0': 'hello' } });
      await service.applyUpdate(p.gun, [part('root', root), part('targets', targets)]);

      const set = await clientRefresh(service, p.gun, clock.now());
      assert.deepEqual([...set.targets!.signed.targets.keys()], ['v1.0.0']);
      const snapshot = set.snapshot!;
      const timestamp = set.timestamp!;
      assert.equal(snapshot.signed.version, 1);
      assert.equal(timestamp.signed.version, 1);
      // Lifetimes as notary-server: snapshot 3 x 365 days, timestamp 14 days, RFC3339 UTC text.
      assert.equal(snapshot.signed.expires.ms, FIXTURE_NOW.getTime() + 3 * 365 * DAY_MS);
      assert.equal(timestamp.signed.expires.text, '2026-12-07T12:00:00Z');
      // Signed with ed25519 server keys, method eddsa, like notary's local signer.
      assert.deepEqual(timestamp.signatures.map((s) => [s.keyId, s.method]), [[p.timestampKey.id, 'eddsa']]);
      assert.deepEqual(snapshot.signatures.map((s) => [s.keyId, s.method]), [[p.snapshotOnServer!.id, 'eddsa']]);
      // Meta is over the exact stored bytes (parsed digests are a lazy map: compared as a plain one).
      const plain = (m: FileMeta | undefined) => m && { length: m.length, hashes: new Map(m.hashes) };
      assert.deepEqual(plain(snapshot.signed.meta.get('targets')), plain(roleMetaFromBytes(targets)));
      assert.deepEqual(plain(snapshot.signed.meta.get('root')), plain(roleMetaFromBytes(root)));
      assert.deepEqual(plain(timestamp.signed.meta.get('snapshot')), plain(roleMetaFromBytes(snapshot.raw)));
      // Byte layout is Go's: re-encoding the parsed file gives the same bytes.
      for (const f of [snapshot, timestamp]) assert.deepEqual(notaryCodec.encode(f.signedTree, f.signatures), f.raw);
    });

    it('first publish with a client-signed snapshot stores it as sent and signs only the timestamp', async () => {
      const p = await Publisher.create(service, clock);
      const root = await p.root();
      const targets = await p.targets('targets', { version: 2 });
      const snapshot = await p.snapshot(2, { root, targets });
      await service.applyUpdate(p.gun, [part('root', root), part('targets', targets), part('snapshot', snapshot)]);
      assert.deepEqual((await service.getCurrent(p.gun, 'snapshot'))!.data, snapshot);
      const set = await clientRefresh(service, p.gun, clock.now());
      assert.equal(set.timestamp!.signed.version, 1);
    });

    it('a first root may be version 2', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      await service.applyUpdate(p.gun, [part('root', await p.root({ version: 2 })), part('targets', await p.targets('targets', { version: 1 }))]);
      assert.equal((await service.getCurrent(p.gun, 'root'))!.version, 2);
    });

    it('hashes the bytes it stores: a trailing newline is part of the snapshot meta', async () => {
      const p = await initialised();
      const targets = Buffer.concat([await p.targets('targets', { version: 2, targets: { x: 'x' } }), Buffer.from('\n')]);
      await service.applyUpdate(p.gun, [part('targets', targets)]);
      const set = await clientRefresh(service, p.gun, clock.now());
      assert.equal(set.snapshot!.signed.meta.get('targets')!.length, targets.length);
      assert.equal((await ts.store.getByChecksum(p.gun, 'targets', sha256Hex(targets)))!.version, 2);
    });

    it('ignores a timestamp part: the stored timestamp is the server\'s', async () => {
      const p = await initialised();
      const fake = await p.sign({ type: 'timestamp', version: 50, expires: { text: '2030-01-01T00:00:00Z', ms: Date.parse('2030-01-01T00:00:00Z') }, meta: new Map([['snapshot', roleMetaFromBytes(Buffer.from('x'))]]) }, [p.targetsKey]);
      await service.applyUpdate(p.gun, [part('targets', await p.targets('targets', { version: 2 })), part('timestamp', fake)]);
      const current = (await service.getCurrent(p.gun, 'timestamp'))!;
      assert.equal(current.version, 2);
      assert.notDeepEqual(current.data, fake);
    });

    it('an empty update re-signs snapshot and timestamp when the server holds the snapshot key', async () => {
      const p = await initialised();
      const before = (await service.getCurrent(p.gun, 'snapshot'))!;
      await service.applyUpdate(p.gun, []);
      assert.equal((await service.getCurrent(p.gun, 'snapshot'))!.version, before.version + 1);
      assert.equal((await service.getCurrent(p.gun, 'timestamp'))!.version, 2);
      await clientRefresh(service, p.gun, clock.now());
    });

    it('an empty update without the snapshot key is refused with ErrBadHierarchy', async () => {
      const p = await Publisher.create(service, clock);
      const root = await p.root();
      const targets = await p.targets('targets', { version: 1 });
      await service.applyUpdate(p.gun, [part('root', root), part('targets', targets), part('snapshot', await p.snapshot(1, { root, targets }))]);
      await assertRefused(service.applyUpdate(p.gun, []), 'ErrBadHierarchy', 'SERVER_KEY_MISSING');
    });
  });

  describe('root (steps 1-4)', () => {
    it('refuses an update of a new GUN without root: ErrValidation', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      await assertRefused(service.applyUpdate(p.gun, [part('targets', await p.targets('targets', { version: 1 }))]), 'ErrValidation', 'NO_ROOT', /no pre-existing root/);
    });

    it('refuses a root version jump before looking at signatures: ErrBadRoot', async () => {
      const p = await initialised();
      // Signed by a stranger: the version check must fire first, as in notary.
      const stranger = await Publisher.rootKeyFor(p.gun, clock);
      await assertRefused(service.applyUpdate(p.gun, [part('root', await p.root({ version: 3, signers: [stranger] }))]), 'ErrBadRoot', 'VERSION_JUMP', /current 1, new 3/);
    });

    it('refuses a first root of version 3', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      await assertRefused(service.applyUpdate(p.gun, [part('root', await p.root({ version: 3 })), part('targets', await p.targets('targets', { version: 1 }))]), 'ErrBadRoot', 'VERSION_JUMP');
    });

    it('refuses a root rotation not signed by the old root key', async () => {
      const p = await initialised();
      const newRoot = await Publisher.rootKeyFor(p.gun, clock);
      const rotated = await p.root({ version: 2, rootKeys: [newRoot], signers: [newRoot] });
      await assertRefused(service.applyUpdate(p.gun, [part('root', rotated)]), 'ErrBadRoot', 'THRESHOLD_NOT_MET', /could not rotate trust/);
      // The same rotation cross-signed by the old key is accepted.
      await service.applyUpdate(p.gun, [part('root', await p.root({ version: 2, rootKeys: [newRoot], signers: [newRoot, p.rootKey] }))]);
      assert.equal((await service.getCurrent(p.gun, 'root'))!.version, 2);
    });

    it('refuses a rotation signed only by the old root key: the new root must vouch for itself too', async () => {
      const p = await initialised();
      const newRoot = await Publisher.rootKeyFor(p.gun, clock);
      await assertRefused(service.applyUpdate(p.gun, [part('root', await p.root({ version: 2, rootKeys: [newRoot], signers: [p.rootKey] }))]), 'ErrBadRoot', 'THRESHOLD_NOT_MET');
      assert.equal((await service.getCurrent(p.gun, 'root'))!.version, 1);
    });

    it('refuses a root older than the stored one (rollback), even validly signed', async () => {
      const p = await initialised();
      const v1 = (await service.getCurrent(p.gun, 'root'))!.data;
      await service.applyUpdate(p.gun, [part('root', await p.root({ version: 2 }))]);
      await assertRefused(service.applyUpdate(p.gun, [part('root', v1)]), 'ErrBadRoot', 'VERSION_ROLLBACK');
      assert.equal((await service.getCurrent(p.gun, 'root'))!.version, 2);
    });

    it('refuses an uploaded root that has expired', async () => {
      const p = await initialised();
      await assertRefused(service.applyUpdate(p.gun, [part('root', await p.root({ version: 2, expires: new Date(clock.now().getTime() - DAY_MS) }))]), 'ErrBadRoot', 'EXPIRED');
      assert.equal((await service.getCurrent(p.gun, 'root'))!.version, 1);
    });

    it('refuses a root whose root key is not a certificate for the GUN', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      const wrongCn = await Publisher.rootKeyFor('example.com/other', clock);
      await assertRefused(
        service.applyUpdate(p.gun, [part('root', await p.root({ rootKeys: [wrongCn] })), part('targets', await p.targets('targets', { version: 1 }))]),
        'ErrBadRoot',
        'BAD_ROOT',
      );
      const plain = RepositorySimulator.newKey('ecdsa');
      await assertRefused(
        service.applyUpdate(p.gun, [part('root', await p.root({ rootKeys: [plain] })), part('targets', await p.targets('targets', { version: 1 }))]),
        'ErrBadRoot',
        'BAD_ROOT',
      );
    });

    it('re-posting the current root passes validation and loses at the store: VERSION', async () => {
      const p = await initialised();
      await assert.rejects(service.applyUpdate(p.gun, [part('root', (await service.getCurrent(p.gun, 'root'))!.data)]), VersionConflictError);
    });
  });

  describe('parts (step 1)', () => {
    it('refuses invalid role names, naming the role', async () => {
      const p = await initialised();
      for (const role of ['targets/Bad_Name', 'foo/targets', 'targets/', 'targets//x', 'targets/../x', 'TARGETS', '']) {
        await assertRefused(service.applyUpdate(p.gun, [part(role, await p.targets('targets', { version: 5 }))]), 'ErrValidation', 'INVALID_ROLE');
      }
    });

    it('refuses a role sent twice', async () => {
      const p = await initialised();
      const t = await p.targets('targets', { version: 2 });
      await assertRefused(service.applyUpdate(p.gun, [part('targets', t), part('targets', t)]), 'ErrValidation', 'DUPLICATE_ROLE');
    });

    it('refuses an oversize part', async () => {
      const small = testService(ts.store, clock, { maxMetadataBytes: 1000 });
      const p = await Publisher.create(small, clock, { serverSnapshot: true });
      const root = await p.root();
      assert.ok(root.length > 1000);
      await assertRefused(small.applyUpdate(p.gun, [part('root', root)]), 'ErrValidation', 'METADATA_TOO_LARGE');
    });

    it('refuses a non-canonical number literal that notary would read as an integer', async () => {
      const p = await initialised();
      const t = await p.targets('targets', { version: 2 });
      for (const literal of ['2.0', '2e0', '0.2e1']) {
        const edited = Buffer.from(t.toString('utf8').replace('"version":2', `"version":${literal}`));
        await assertCode(service.applyUpdate(p.gun, [part('targets', edited)]), DeserializationError, 'CANONICAL_JSON');
      }
    });

    it('parses every part before judging anything: malformed JSON wins over a missing root', async () => {
      const p = await Publisher.create(service, clock);
      const good = await p.targets('targets', { version: 1 });
      await assertCode(service.applyUpdate(p.gun, [part('targets', good), part('targets/x', Buffer.from('{"signed": not json'))]), DeserializationError, 'MALFORMED_JSON');
      await assertCode(service.applyUpdate(p.gun, [part('targets', good), part('snapshot', good)]), DeserializationError, 'WRONG_TYPE');
    });
  });

  describe('timestamp and storing (steps 7-8)', () => {
    it('refuses a root whose timestamp key the server does not hold: ErrBadRoot', async () => {
      const p = await Publisher.create(service, clock, { serverSnapshot: true });
      const foreign = RepositorySimulator.newKey('ed25519').publicKey;
      await assertRefused(
        service.applyUpdate(p.gun, [part('root', await p.root({ timestampKey: foreign })), part('targets', await p.targets('targets', { version: 1 }))]),
        'ErrBadRoot',
        'SERVER_KEY_MISSING',
        /no timestamp keys exist on the server/,
      );
      assert.equal(await service.getCurrent(p.gun, 'root'), null, 'nothing was stored');
    });

    it('refuses a replayed targets version with VERSION and stores nothing of that update', async () => {
      const p = await initialised();
      const v2 = await p.targets('targets', { version: 2, targets: { a: 'a' } });
      await service.applyUpdate(p.gun, [part('targets', v2)]);
      const before = (await service.getCurrent(p.gun, 'timestamp'))!;
      await assert.rejects(service.applyUpdate(p.gun, [part('targets', v2)]), VersionConflictError);
      await assert.rejects(service.applyUpdate(p.gun, [part('targets', await p.targets('targets', { version: 1, targets: { b: 'b' } }))]), VersionConflictError);
      assert.deepEqual((await service.getCurrent(p.gun, 'timestamp'))!.data, before.data);
      // Any increase is fine (notary: 4 -> 100).
      await service.applyUpdate(p.gun, [part('targets', await p.targets('targets', { version: 100 }))]);
    });

    it('a DELETE or another root stored between validation and storing makes the publish a conflict, storing nothing', async () => {
      // The store runs `meanwhile` just before the update's own write, as a racing request would.
      let meanwhile: ((gun: string) => Promise<void>) | undefined;
      const racing = new Proxy(ts.store, {
        get(target, name) {
          if (name === 'updateMany') {
            return async (...args: Parameters<typeof target.updateMany>) => {
              const run = meanwhile;
              meanwhile = undefined;
              await run?.(args[0]);
              return target.updateMany(...args);
            };
          }
          const v: unknown = Reflect.get(target, name);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const racingService = testService(racing, clock);
      const p = await initialised();
      meanwhile = async (gun) => {
        await ts.store.deleteGun(gun);
      };
      await assert.rejects(racingService.applyUpdate(p.gun, [part('targets', await p.targets('targets', { version: 2, targets: { a: 'a' } }))]), (e: unknown) => e instanceof VersionConflictError && /deleted/.test(e.message));
      for (const role of ['root', 'targets', 'snapshot', 'timestamp']) assert.equal(await ts.store.getCurrent(p.gun, role), null, `${role} after the race`);

      const q = await initialised();
      meanwhile = async (gun) => {
        await ts.store.updateMany(gun, [{ role: 'root', version: 2, data: await q.root({ version: 2 }) }]);
      };
      await assert.rejects(racingService.applyUpdate(q.gun, [part('targets', await q.targets('targets', { version: 2 }))]), (e: unknown) => e instanceof VersionConflictError && /root changed/.test(e.message));
      assert.equal((await ts.store.getCurrent(q.gun, 'targets'))!.version, 1);
    });

    it('records one changefeed entry per publish with the timestamp version and hash', async () => {
      const p = await initialised();
      const changes = await ts.store.getChanges({ gun: p.gun, changeId: 0, records: 10 });
      const current = (await service.getCurrent(p.gun, 'timestamp'))!;
      assert.deepEqual(changes.map((c) => [c.category, c.version, c.sha256]), [['update', 1, current.sha256]]);
    });
  });
});

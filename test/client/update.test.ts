// SPDX-License-Identifier: Apache-2.0
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetadataCache } from '../../client/cache.js';
import type { TrustPinningConfig } from '../../client/config.js';
import { NotaryRemote } from '../../client/remote.js';
import { refresh, RepositoryMissingError, type RefreshContext } from '../../client/update.js';
import { createHash } from 'node:crypto';
import { BadVersionError, ExpiredMetadataError, LengthOrHashMismatchError, RemoteError, RepositoryError } from '../../shared/errors.js';
import { FIXTURE_NOW, fixture } from '../support/paths.js';
import { RepositorySimulator } from '../support/repository-simulator.js';
import { MAX_ROOT_VERSIONS_WALKED } from '../../shared/verify/index.js';
import { fixtureBytes, startFixtureServer, type FixtureServer } from './support/fixture-server.js';
import { startStub, type Stub } from './support/http-stub.js';

const GUN = 'example.com/app';
const ROOT_CERT_ID = 'efb000413ad5ca5493e0553395ada497db84ac22a4b371ffadd9096506e9e01a';
const NO_PINS: TrustPinningConfig = { certs: new Map(), ca: new Map(), disableTofu: false };

describe('refresh (notary-produced repository)', () => {
  let server: FixtureServer;
  before(async () => {
    server = await startFixtureServer();
  });
  after(async () => {
    await server.close();
  });

  function context(opts: { trustDir?: string; pinning?: TrustPinningConfig; now?: Date; gun?: string } = {}): RefreshContext & { trustDir: string } {
    const trustDir = opts.trustDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'signet-update-'));
    const gun = opts.gun ?? GUN;
    return {
      trustDir,
      gun,
      remote: new NotaryRemote({ serverUrl: server.url, gun }),
      cache: new MetadataCache(trustDir, gun),
      pinning: opts.pinning ?? NO_PINS,
      now: opts.now ?? FIXTURE_NOW,
    };
  }

  it('bootstraps on first use, verifies every role and lists what notary lists', async () => {
    server.override.clear();
    const ctx = context();
    const { set, downloads, warnings } = await refresh(ctx);
    assert.deepEqual(warnings, []);
    for (const role of ['root', 'timestamp', 'snapshot', 'targets', 'targets/releases', 'targets/jenkins']) {
      assert.deepEqual(downloads.get(role), fixtureBytes(role), role);
    }
    const listed = set.listTargets().map((t) => `${t.name} ${t.target.length} ${t.role}`).sort();
    assert.deepEqual(listed, ['jenkins/build-42 17 targets/jenkins', 'release-1.0.0 16 targets/releases', 'v1.0.0 15 targets']);
  });

  it('uses the cache first: a second refresh downloads only the timestamp', async () => {
    server.override.clear();
    const ctx = context();
    ctx.cache.writeMany((await refresh(ctx)).downloads);
    const before = server.requests.length;
    const { downloads, set } = await refresh(ctx);
    assert.deepEqual(server.requests.slice(before).map((r) => r.url), [`/v2/${GUN}/_trust/tuf/timestamp.json`]);
    assert.equal(downloads.size, 0, 'same timestamp version: nothing new to cache');
    assert.equal(set.listTargets().length, 3);
  });

  it('walks from a cached root v1 to the rotated root v2 the snapshot records', async () => {
    server.override.clear();
    const ctx = context();
    ctx.cache.write('root', fs.readFileSync(fixture('server', '1.root.json')));
    const { set, downloads } = await refresh(ctx);
    assert.equal(set.root.signed.version, 2);
    assert.deepEqual(downloads.get('root'), fixtureBytes('root'));
    // the v2 snapshot is signed by the rotated snapshot key, so v1 cannot verify it: one root refresh, then a retry
    assert.ok(server.requests.some((r) => r.url.endsWith('/tuf/root.json')), 'root refreshed');
  });

  it('refuses targets whose bytes do not match the snapshot (mix-and-match)', async () => {
    server.override.clear();
    const tampered = Buffer.from(fixtureBytes('targets').toString().replace('"v1.0.0"', '"v6.6.6"'));
    server.override.set('targets', tampered);
    try {
      await assert.rejects(refresh(context()), LengthOrHashMismatchError);
    } finally {
      server.override.clear();
    }
  });

  it('refuses a delegation whose bytes do not match the snapshot, as notary does (not skipped)', async () => {
    server.override.set('targets/jenkins', Buffer.from(fixtureBytes('targets/jenkins').toString().replace('build-42', 'build-43')));
    try {
      await assert.rejects(refresh(context()), (e: unknown) => e instanceof LengthOrHashMismatchError && /targets\/jenkins/.test(e.message));
    } finally {
      server.override.clear();
    }
  });

  it('refuses an expired timestamp (freeze attack)', async () => {
    await assert.rejects(refresh(context({ now: new Date('2026-12-07T00:00:00Z') })), ExpiredMetadataError);
  });

  it('reports a GUN the server does not know as RepositoryMissingError', async () => {
    await assert.rejects(refresh(context({ gun: 'example.com/none' })), (e: unknown) => e instanceof RepositoryMissingError && e.code === 'METADATA_NOT_FOUND' && /signet init example\.com\/none/.test(e.message));
  });

  describe('trust pinning on first use', () => {
    const pin = (certs: Record<string, string[]>, disableTofu = false): TrustPinningConfig => ({ certs: new Map(Object.entries(certs)), ca: new Map(), disableTofu });

    it('accepts the root when its certificate ID is pinned (exact GUN or prefix*)', async () => {
      assert.equal((await refresh(context({ pinning: pin({ [GUN]: [ROOT_CERT_ID] }) }))).set.root.signed.version, 2);
      assert.equal((await refresh(context({ pinning: pin({ 'example.com/*': [ROOT_CERT_ID] }) }))).set.root.signed.version, 2);
    });

    it('refuses the root when another certificate is pinned', async () => {
      await assert.rejects(refresh(context({ pinning: pin({ [GUN]: ['00'.repeat(32)] }) })), (e: unknown) => e instanceof RepositoryError && e.code === 'UNTRUSTED_ROOT' && /trust_pinning\.certs\["example\.com\/app"\]/.test(e.message));
    });

    it('with disable_tofu refuses an unpinned first root, but keeps trusting a cached one', async () => {
      await assert.rejects(refresh(context({ pinning: pin({}, true) })), (e: unknown) => e instanceof RepositoryError && e.code === 'UNTRUSTED_ROOT' && /disable_tofu/.test(e.message));
      const ctx = context({ pinning: pin({}, true) });
      ctx.cache.write('root', fixtureBytes('root'));
      assert.equal((await refresh(ctx)).set.listTargets().length, 3);
    });
  });
});

// Two delegations vouch for every path and both list `app`; releases is listed first, so it
// answers for `app`. If a failing releases were skipped, ci would answer instead: only what
// notary's client skips (expired, signatures short of the threshold) may be skipped.
describe('refresh against a simulated server: delegations that fail, root walks', () => {
  const GUN_SIM = 'example.com/sim';
  const NO_PINS_SIM: TrustPinningConfig = { certs: new Map(), ca: new Map(), disableTofu: false };
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  let sim: RepositorySimulator;
  let stub: Stub;
  /** Served instead of targets/releases (by name and by any hash); null answers 404. */
  let releases: Buffer | null | undefined;
  const dirs: string[] = [];

  before(async () => {
    stub = await startStub((req, res) => {
      const file = decodeURIComponent(req.url).replace(`/v2/${GUN_SIM}/_trust/tuf/`, '');
      const m = /^(?:(\d+)\.)?(root|targets(?:\/[a-z]+)?|snapshot|timestamp)(?:\.([0-9a-f]{64}))?\.json$/.exec(file);
      const role = m?.[2];
      let body: Buffer | undefined;
      if (role === 'targets/releases' && releases !== undefined) body = releases ?? undefined;
      else if (role !== undefined) {
        const versions = [...(sim.files.get(role)?.entries() ?? [])];
        body = m![1] !== undefined ? sim.files.get(role)?.get(Number(m![1])) : m![3] !== undefined ? versions.find(([, b]) => sha(b) === m![3])?.[1] : versions.at(-1)?.[1];
      }
      res.writeHead(body === undefined ? 404 : 200);
      res.end(body ?? '{"errors":[{"code":"METADATA_NOT_FOUND","message":"You have requested metadata that does not exist."}]}');
    });
  });
  after(async () => {
    await stub.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  async function repository(): Promise<void> {
    releases = undefined;
    sim = await RepositorySimulator.create({ gun: GUN_SIM });
    await sim.addDelegation('targets/releases', { paths: [''] });
    await sim.addDelegation('targets/ci', { paths: [''] });
    sim.addTarget('targets/releases', 'app', 'released build');
    sim.addTarget('targets/ci', 'app', 'unreviewed ci build');
    await sim.publish();
  }
  function context(pinning: TrustPinningConfig = NO_PINS_SIM): RefreshContext {
    const trustDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-update-sim-'));
    dirs.push(trustDir);
    return { gun: GUN_SIM, remote: new NotaryRemote({ serverUrl: stub.url, gun: GUN_SIM }), cache: new MetadataCache(trustDir, GUN_SIM), pinning, now: sim.now };
  }
  const appRole = async (ctx: RefreshContext): Promise<string | undefined> => (await refresh(ctx)).set.lookupTarget('app')?.role;

  it('releases answers for app when it loads', async () => {
    await repository();
    assert.equal(await appRole(context()), 'targets/releases');
  });

  it('bytes that do not match the snapshot fail the refresh', async () => {
    await repository();
    releases = Buffer.from(sim.file('targets/releases').toString().replace('"app"', '"apq"'));
    await assert.rejects(appRole(context()), LengthOrHashMismatchError);
  });

  it('a delegation the server does not have fails the refresh', async () => {
    await repository();
    releases = null;
    await assert.rejects(appRole(context()), (e: unknown) => e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND');
  });

  it('a delegation rolled back below the cached version fails the refresh', async () => {
    await repository();
    const ctx = context();
    ctx.cache.writeMany((await refresh(ctx)).downloads);
    sim.addTarget('targets/releases', 'app', 'released build 2');
    await sim.publish();
    ctx.cache.writeMany((await refresh(ctx)).downloads);
    // A server holding the snapshot and timestamp keys serves the older, validly signed releases.
    sim.serveOldVersion('targets/releases', 1);
    sim.bumpVersion('targets/ci');
    await sim.publish();
    await assert.rejects(appRole(ctx), BadVersionError);
  });

  const skipped: Array<[string, RegExp, () => void]> = [
    ['has expired', /expired/, () => sim.expire('targets/releases')],
    ['falls short of its threshold (signed by a key its parent does not list)', /threshold/, () => sim.signWith('targets/releases', [RepositorySimulator.newKey('ecdsa')])],
  ];
  for (const [what, why, spoil] of skipped) {
    it(`a delegation that ${what} is skipped with a warning, as notary does`, async () => {
      await repository();
      spoil();
      await sim.publish();
      const { set, warnings } = await refresh(context());
      assert.equal(set.lookupTarget('app')?.role, 'targets/ci');
      assert.match(warnings.join('\n'), new RegExp(`skipping targets/releases: .*${why.source}`));
    });
  }

  it('a root rotation to keys outside the pinned certificate IDs is refused (stricter than notary, which drops pins once a root is cached)', async () => {
    await repository();
    const oldId = sim.root.keys[0]!.publicKey.id;
    const pinned = (ids: string[]): TrustPinningConfig => ({ certs: new Map([[GUN_SIM, ids]]), ca: new Map(), disableTofu: false });
    const ctx = context(pinned([oldId]));
    ctx.cache.writeMany((await refresh(ctx)).downloads);
    const [newKey] = await sim.rotateKeys('root');
    await sim.publishRoot();
    await sim.publish();
    await assert.rejects(refresh(ctx), (e: unknown) => e instanceof RepositoryError && e.code === 'UNTRUSTED_ROOT' && /root version 2 .*pin is out of date/.test(e.message));
    assert.equal((await refresh({ ...ctx, pinning: pinned([oldId, newKey!.publicKey.id]) })).set.root.signed.version, 2);
  });

  it(`a root more than ${MAX_ROOT_VERSIONS_WALKED} versions ahead is refused before walking`, async () => {
    await repository();
    const ctx = context();
    ctx.cache.writeMany((await refresh(ctx)).downloads);
    await sim.publishRoot({ version: MAX_ROOT_VERSIONS_WALKED + 2 });
    await sim.publish();
    const before = stub.requests.length;
    await assert.rejects(refresh(ctx), (e: unknown) => e instanceof RepositoryError && e.code === 'BAD_ROOT' && new RegExp(`root version ${MAX_ROOT_VERSIONS_WALKED + 2} .*more than ${MAX_ROOT_VERSIONS_WALKED} versions`).test(e.message));
    assert.ok(!stub.requests.slice(before).some((r) => /\/2\.root\.json$/.test(r.url)), 'no version was fetched one by one');
  });
});

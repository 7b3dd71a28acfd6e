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
import { ExpiredMetadataError, LengthOrHashMismatchError, RepositoryError } from '../../shared/errors.js';
import { FIXTURE_NOW, fixture } from '../support/paths.js';
import { fixtureBytes, startFixtureServer, type FixtureServer } from './support/fixture-server.js';

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

  it('skips a delegation that fails verification, with a warning, as notary does', async () => {
    server.override.set('targets/jenkins', Buffer.from(fixtureBytes('targets/jenkins').toString().replace('build-42', 'build-43')));
    try {
      const { set, warnings } = await refresh(context());
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /skipping targets\/jenkins/);
      assert.deepEqual(set.listTargets().map((t) => t.name).sort(), ['release-1.0.0', 'v1.0.0']);
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

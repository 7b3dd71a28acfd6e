// SPDX-License-Identifier: Apache-2.0
// refresh parses a cached targets file only when it is not the one the
// snapshot names; then its version is the rollback floor for the download.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetadataCache } from '../../client/cache.js';
import { NotaryRemote } from '../../client/remote.js';
import { refresh, type RefreshContext } from '../../client/update.js';
import { RepositoryError } from '../../shared/errors.js';
import { FIXTURE_NOW } from '../support/paths.js';
import { fixtureBytes, startFixtureServer, type FixtureServer } from './support/fixture-server.js';

const GUN = 'example.com/app';

describe('refresh and the cached targets version', () => {
  let server: FixtureServer;
  before(async () => {
    server = await startFixtureServer();
  });
  after(async () => {
    await server.close();
  });

  function context(): RefreshContext {
    const trustDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-update-rb-'));
    return { gun: GUN, remote: new NotaryRemote({ serverUrl: server.url, gun: GUN }), cache: new MetadataCache(trustDir, GUN), pinning: { certs: new Map(), ca: new Map(), disableTofu: false }, now: FIXTURE_NOW };
  }

  it('refuses targets older than the cached copy (the server replays old metadata)', async () => {
    server.override.clear();
    const ctx = context();
    ctx.cache.writeMany((await refresh(ctx)).downloads);
    const current = fixtureBytes('targets').toString('utf8');
    const version = /"version":(\d+)/.exec(current);
    assert.ok(version !== null);
    // A newer copy in the cache (as after a publish the server then lost): its version is the floor.
    ctx.cache.writeMany(new Map([['targets', Buffer.from(current.replace(/"version":\d+/, `"version":${Number(version[1]) + 3}`))]]));
    await assert.rejects(refresh(ctx), (e: unknown) => e instanceof RepositoryError && /lower than the cached version/.test(e.message));
  });

  it('trusts a cached copy that is the snapshot\'s without downloading it again', async () => {
    server.override.clear();
    const ctx = context();
    ctx.cache.writeMany((await refresh(ctx)).downloads);
    const before = server.requests.length;
    const { set } = await refresh(ctx);
    assert.ok(!server.requests.slice(before).some((r) => r.url.includes('targets')));
    assert.equal(set.getTargets('targets')?.raw.equals(fixtureBytes('targets')), true);
  });
});

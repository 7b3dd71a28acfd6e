// SPDX-License-Identifier: Apache-2.0
// Reads fall back to the cached timestamp as notary's do (network failure,
// 404, unexpected status), with a warning, and only then: a 400 or an auth
// failure is not a reason, an expired cached timestamp still fails, and a
// publish never falls back. Over the notary-made fixture repository, valid
// at FIXTURE_NOW.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExpiredMetadataError, RemoteError } from '../../shared/errors.js';
import { constantPassphraseRetriever } from '../../keys/index.js';
import { loadConfig } from '../../client/config.js';
import { RepositorySession } from '../../client/repository.js';
import { FIXTURE_NOW } from '../support/paths.js';
import { fixtureBytes, startFixtureServer, type FixtureServer } from './support/fixture-server.js';
import { startStub } from './support/http-stub.js';

const GUN = 'example.com/app';

describe('cached timestamp fallback for reads', () => {
  let server: FixtureServer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-offline-'));
  before(async () => {
    server = await startFixtureServer();
  });
  after(async () => {
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  function session(url: string, trustDir: string, now = FIXTURE_NOW, warnings: string[] = []): RepositorySession {
    const config = loadConfig({ trustDir, server: url }, { home: tmp, cwd: tmp });
    return new RepositorySession({ config, gun: GUN, retriever: constantPassphraseRetriever('unused'), credentials: null, now: () => now, warn: (m) => warnings.push(m), timeoutMs: 2000 });
  }

  /** A trust dir whose cache holds the fixture repository, as after one online list. */
  async function primed(name: string): Promise<string> {
    const dir = path.join(tmp, name);
    const names = (await session(server.url, dir).list()).map((t) => t.name);
    assert.deepEqual(names, ['jenkins/build-42', 'release-1.0.0', 'v1.0.0']);
    return dir;
  }

  it('uses the cached timestamp, with a warning, when the server cannot be reached', async () => {
    const dir = await primed('unreachable');
    const dead = await startStub(() => undefined);
    const url = dead.url;
    await dead.close(); // nothing listens there any more
    const warnings: string[] = [];
    const names = (await session(url, dir, FIXTURE_NOW, warnings).list()).map((t) => t.name);
    assert.deepEqual(names, ['jenkins/build-42', 'release-1.0.0', 'v1.0.0']);
    assert.match(warnings.join('\n'), /could not get the current timestamp of example\.com\/app .*using the cached one/);
  });

  it('uses it on 404 and on an unexpected status, not on a 400 refusal', async () => {
    const dir = await primed('statuses');
    for (const [status, falls] of [[404, true], [503, true], [400, false]] as const) {
      const stub = await startStub((req, res) => {
        if (req.url.endsWith('/timestamp.json')) {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end('{"errors":[{"code":"UNKNOWN","message":"nope"}]}\n');
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      try {
        const warnings: string[] = [];
        const run = session(stub.url, dir, FIXTURE_NOW, warnings).list();
        if (falls) {
          assert.equal((await run).length, 3, `status ${status}`);
          assert.equal(warnings.length, 1, `status ${status}`);
        } else {
          await assert.rejects(run, RemoteError, `status ${status}`);
          assert.deepEqual(warnings, []);
        }
      } finally {
        await stub.close();
      }
    }
  });

  it('an expired cached timestamp is refused, not used', async () => {
    const dir = await primed('expired');
    const dead = await startStub(() => undefined);
    await dead.close();
    const later = new Date('2026-12-07T00:00:00Z'); // after the fixture timestamp's expiry
    // The expired copy fails verification; the root refresh that notary's order then tries cannot reach the server either.
    await assert.rejects(session(dead.url, dir, later).list(), (e: unknown) => e instanceof ExpiredMetadataError || (e instanceof RemoteError && e.code === 'NETWORK'));
  });

  it('without a cached timestamp there is nothing to fall back to', async () => {
    const dead = await startStub(() => undefined);
    await dead.close();
    const dir = path.join(tmp, 'empty');
    fs.mkdirSync(path.join(dir, 'tuf', 'example.com', 'app', 'metadata'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'tuf', 'example.com', 'app', 'metadata', 'root.json'), fixtureBytes('root'));
    await assert.rejects(session(dead.url, dir).list(), (e: unknown) => e instanceof RemoteError && e.code === 'NETWORK');
  });
});

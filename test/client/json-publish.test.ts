// SPDX-License-Identifier: Apache-2.0
// `--output json` with -p: what was staged and what was published are one
// JSON document on stdout, so a script parses it with one JSON.parse.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSignetServer, type TrustServer } from './support/signet-server.js';
import { signet } from './support/cli-run.js';

const GUN = 'example.com/json-publish';

describe('--output json with -p writes one document', () => {
  let server: TrustServer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-json-'));
  const trust = path.join(tmp, 'trust');
  const payload = path.join(tmp, 'payload');
  const run = (...args: string[]) => signet(['-s', server.url, '-d', trust, '--output', 'json', ...args]);

  before(async () => {
    server = await startSignetServer();
    fs.writeFileSync(payload, 'json payload\n');
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('init -p: the root key and the publish', async () => {
    const r = await run('init', GUN, '-p');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(doc.gun, GUN);
    assert.match(String(doc.rootKeyId), /^[0-9a-f]{64}$/);
    assert.equal(doc.rootKeyCreated, true);
    assert.ok(Array.isArray(doc.published) && doc.published.includes('root'), r.stdout);
    assert.equal(typeof doc.applied, 'number');
  });

  it('add -p: the staged target and the publish', async () => {
    const r = await run('add', GUN, 'v1', payload, '-p');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { gun: string; staged: Array<{ role: string; path: string; file: string }>; published: string[]; applied: number };
    assert.equal(doc.gun, GUN);
    assert.deepEqual(doc.staged.map((s) => [s.role, s.path]), [['targets', 'v1']]);
    assert.ok(doc.published.includes('targets'), r.stdout);
    assert.equal(doc.applied, 1);
  });

  it('without -p the staged document has no publish fields, and publish reports on its own', async () => {
    const staged = await run('add', GUN, 'v2', payload);
    assert.equal(staged.code, 0, staged.stderr);
    const doc = JSON.parse(staged.stdout) as Record<string, unknown>;
    assert.equal('published' in doc, false);
    const published = await run('publish', GUN);
    assert.equal(published.code, 0, published.stderr);
    assert.deepEqual(Object.keys(JSON.parse(published.stdout) as object).sort(), ['applied', 'gun', 'published']);
  });
});

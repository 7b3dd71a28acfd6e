// SPDX-License-Identifier: Apache-2.0
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetadataCache } from '../../client/cache.js';
import { changelistDir, gunDir } from '../../client/trust-dir.js';
import { UsageError } from '../../shared/errors.js';
import { fixture } from '../support/paths.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cache-'));
}

describe('MetadataCache', () => {
  it('reads notary\'s cache layout, delegations below targets/', () => {
    const cache = new MetadataCache(fixture('trust_dir', 'owner'), 'example.com/app');
    for (const role of ['root', 'targets', 'snapshot', 'timestamp', 'targets/releases', 'targets/jenkins']) {
      assert.deepEqual(cache.read(role), fs.readFileSync(fixture('server', `${role}.json`)), role);
    }
    assert.equal(cache.read('targets/nope'), null);
  });

  it('writes exact bytes where notary reads them, atomically, mode 0600', () => {
    const trust = tmp();
    const cache = new MetadataCache(trust, 'example.com/app');
    const bytes = Buffer.from('{"signed":{},"signatures":[]}\u0000\n');
    cache.write('targets/releases', bytes);
    const file = path.join(trust, 'tuf', 'example.com', 'app', 'metadata', 'targets', 'releases.json');
    assert.deepEqual(fs.readFileSync(file), bytes);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['releases.json'], 'no temp file left');
    cache.write('targets/releases', Buffer.from('v2'));
    assert.equal(cache.read('targets/releases')?.toString(), 'v2');
  });

  it('writeMany replaces all roles, and on failure leaves the old files untouched', async () => {
    const trust = tmp();
    const cache = new MetadataCache(trust, 'g');
    await cache.writeMany(new Map([['root', Buffer.from('r1')], ['targets', Buffer.from('t1')]]));
    // a temp file that cannot be created (its name is taken by a directory) fails the batch before any rename
    fs.mkdirSync(path.join(cache.dir, `snapshot.json.${process.pid}.1.tmp`));
    await assert.rejects(cache.writeMany(new Map([['targets', Buffer.from('t2')], ['snapshot', Buffer.from('s2')]])));
    fs.rmdirSync(path.join(cache.dir, `snapshot.json.${process.pid}.1.tmp`));
    await assert.rejects(cache.writeMany(new Map([['targets', Buffer.from('t2')], ['../x', Buffer.from('s2')]])), UsageError);
    assert.equal(cache.read('targets')?.toString(), 't1');
    assert.deepEqual(fs.readdirSync(cache.dir).sort(), ['root.json', 'targets.json']);
  });

  it('writeManyAfter renames its files in only when the upload succeeds, and leaves no temp file either way', async () => {
    const trust = tmp();
    const cache = new MetadataCache(trust, 'g');
    await cache.writeMany(new Map([['root', Buffer.from('r1')], ['targets', Buffer.from('t1')]]));
    const refused = new Error('server said no');
    await assert.rejects(cache.writeManyAfter(new Map([['targets', Buffer.from('t2')], ['snapshot', Buffer.from('s2')]]), () => Promise.reject(refused)), (e) => e === refused);
    assert.equal(cache.read('targets')?.toString(), 't1');
    assert.deepEqual(fs.readdirSync(cache.dir).sort(), ['root.json', 'targets.json']);

    const answer = await cache.writeManyAfter(new Map([['targets', Buffer.from('t3')], ['targets/releases', Buffer.from('d3')]]), async () => 'accepted');
    assert.equal(answer, 'accepted');
    assert.equal(cache.read('targets')?.toString(), 't3');
    assert.equal(cache.read('targets/releases')?.toString(), 'd3');
    assert.equal(fs.statSync(cache.fileOf('targets/releases')).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(cache.dir).sort(), ['root.json', 'targets', 'targets.json']);
  });

  it('writeManyAfter: a write that fails after a successful upload is an error and changes no file', async () => {
    const trust = tmp();
    const cache = new MetadataCache(trust, 'g');
    await cache.writeMany(new Map([['targets', Buffer.from('t1')]]));
    const taken = path.join(cache.dir, `snapshot.json.${process.pid}.1.tmp`);
    fs.mkdirSync(taken); // the temp name is taken, so that write fails
    let uploaded = false;
    await assert.rejects(
      cache.writeManyAfter(new Map([['targets', Buffer.from('t2')], ['snapshot', Buffer.from('s2')]]), async () => {
        uploaded = true;
      }),
      (e: NodeJS.ErrnoException) => e.code === 'EEXIST',
    );
    assert.equal(uploaded, true);
    assert.equal(cache.read('targets')?.toString(), 't1');
    fs.rmdirSync(taken);
    assert.deepEqual(fs.readdirSync(cache.dir), ['targets.json'], 'the temp file that was written is removed');
  });

  it('refuses GUNs and roles that would escape the trust directory', () => {
    const trust = tmp();
    for (const gun of ['../etc', 'a/../../b', '/abs', 'a//b', 'a\\b', '', 'a/.']) {
      assert.throws(() => new MetadataCache(trust, gun), UsageError, gun);
    }
    const cache = new MetadataCache(trust, 'ok/gun');
    for (const role of ['../../x', 'targets/../../x', 'targets//a']) assert.throws(() => cache.read(role), UsageError, role);
  });

  it('maps GUN slashes to directories as notary does', () => {
    assert.equal(gunDir('/t', 'docker.io/library/alpine'), '/t/tuf/docker.io/library/alpine');
    assert.equal(changelistDir('/t', 'a/b'), '/t/tuf/a/b/changelist');
  });
});

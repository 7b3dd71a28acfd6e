// SPDX-License-Identifier: Apache-2.0
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MetadataCache } from '../../client/cache.js';
import { changelistDir, gunDir } from '../../client/trust-dir.js';
import { TrustDirError, UsageError } from '../../shared/errors.js';
import { FileInTheWayError } from '../../keys/index.js';
import { fixture } from '../support/paths.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cache-'));
}

describe('MetadataCache', () => {
  it('a cache path it cannot read or write is a TrustDirError naming the path and the remedy, not a crash', () => {
    const trust = tmp();
    const cache = new MetadataCache(trust, 'example.com/app');
    fs.mkdirSync(cache.fileOf('root'), { recursive: true });
    // a directory where a role's file belongs, and a file where the metadata directory belongs: named, with "move it away"
    const inTheWay = (p: string, expected: 'directory' | 'file') => (e: unknown) =>
      e instanceof FileInTheWayError && e instanceof TrustDirError && e.path === p && e.expected === expected && /move it away \(rename or remove it\) and retry/.test(e.message);
    assert.throws(() => cache.read('root'), inTheWay(cache.fileOf('root'), 'file'));
    assert.throws(() => cache.read('root'), /EISDIR/);
    assert.throws(() => cache.writeMany(new Map([['root', Buffer.from('{}')]])), inTheWay(cache.fileOf('root'), 'file'));
    fs.rmSync(cache.dir, { recursive: true });
    fs.writeFileSync(cache.dir, 'a file where the metadata directory belongs');
    assert.throws(() => cache.writeMany(new Map([['timestamp', Buffer.from('{}')]])), inTheWay(cache.dir, 'directory'));
    assert.throws(() => cache.read('timestamp'), inTheWay(cache.dir, 'directory'));
    // what recordAccepted turns into a warning after a publish
    assert.match(cache.recordAccepted(new Map([['timestamp', Buffer.from('{}')]])) ?? '', /could not be updated/);
  });

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

  it('writeMany replaces all roles, and on failure leaves the old files untouched', () => {
    const trust = tmp();
    const cache = new MetadataCache(trust, 'g');
    cache.writeMany(new Map([['root', Buffer.from('r1')], ['targets', Buffer.from('t1')]]));
    // a temp file that cannot be created (its name is taken by a directory) fails the batch before any rename
    fs.mkdirSync(path.join(cache.dir, `snapshot.json.${process.pid}.1.tmp`));
    assert.throws(() => cache.writeMany(new Map([['targets', Buffer.from('t2')], ['snapshot', Buffer.from('s2')]])));
    fs.rmdirSync(path.join(cache.dir, `snapshot.json.${process.pid}.1.tmp`));
    assert.throws(() => cache.writeMany(new Map([['targets', Buffer.from('t2')], ['../x', Buffer.from('s2')]])), UsageError);
    assert.equal(cache.read('targets')?.toString(), 't1');
    assert.deepEqual(fs.readdirSync(cache.dir).sort(), ['root.json', 'targets.json']);
  });

  it('writeMany replaces a temp file a dead run of the same PID left behind', () => {
    const cache = new MetadataCache(tmp(), 'g');
    fs.mkdirSync(cache.dir, { recursive: true });
    fs.writeFileSync(path.join(cache.dir, `targets.json.${process.pid}.0.tmp`), 'half-written');
    cache.writeMany(new Map([['targets', Buffer.from('t1')]]));
    assert.equal(cache.read('targets')?.toString(), 't1');
    assert.deepEqual(fs.readdirSync(cache.dir), ['targets.json']);
  });

  it('recordAccepted turns a failed write into a warning naming the GUN', () => {
    const cache = new MetadataCache(tmp(), 'example.com/g');
    fs.mkdirSync(path.join(cache.dir, `targets.json.${process.pid}.0.tmp`), { recursive: true });
    const warning = cache.recordAccepted(new Map([['targets', Buffer.from('t1')]]));
    assert.match(warning ?? '', /^the server accepted the update of example\.com\/g, but the local cache in .* could not be updated/);
    assert.equal(cache.read('targets'), null);
    assert.equal(cache.recordAccepted(new Map([['snapshot', Buffer.from('s1')]])), undefined);
    assert.equal(cache.read('snapshot')?.toString(), 's1');
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

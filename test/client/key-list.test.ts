// SPDX-License-Identifier: Apache-2.0
// `signet key list` prints exactly what `notary key list` prints for the same
// trust directory (fixture dirs, a long GUN and location, an empty or broken
// store), and the JSON form carries the same keys.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sortKeyRows, truncateLeft, type KeyRow } from '../../client/key-list.js';
import { runNotary } from './support/notary.js';
import { copyFixtureTrustDir, signet, tmp } from './key-helpers.js';

describe('key list', () => {
  for (const name of ['owner-after-init', 'owner', 'delegate']) {
    it(`matches notary key list byte for byte: fixtures/trust_dir/${name}`, async () => {
      const dir = copyFixtureTrustDir(name);
      const ours = await signet(['-d', dir, 'key', 'list']);
      const theirs = runNotary(['key', 'list'], { trustDir: dir });
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(theirs.status, 0, theirs.stderr);
      assert.equal(ours.stdout, theirs.stdout);
      assert.match(ours.stdout, /^\nROLE {2,}GUN {2,}KEY ID {2,}LOCATION\n/);
    });
  }

  it('matches notary for an empty trust dir and skips (and reports) a broken key file like notary does', async () => {
    const dir = tmp();
    const empty = await signet(['-d', dir, 'key', 'list']);
    assert.equal(empty.stdout, runNotary(['key', 'list'], { trustDir: dir }).stdout);
    assert.equal(empty.stdout, '\nNo signing keys found.\n\n');
    fs.mkdirSync(path.join(dir, 'private'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'private', `${'a'.repeat(64)}.key`), 'not a key\n', { mode: 0o600 });
    const broken = await signet(['-d', dir, 'key', 'list']);
    assert.equal(broken.code, 0);
    assert.equal(broken.stdout, runNotary(['key', 'list'], { trustDir: dir }).stdout);
    assert.match(broken.stderr, /skipped .*aaaa\.key: .*not a usable private key file/);
  });

  it('truncates a long GUN and location as notary does', async () => {
    const dir = path.join(tmp(), 'a-rather-long-directory-name-for-the-trust-dir');
    const gun = 'registry.example.com/some-team/some-very-long-repository-name';
    const gen = await signet(['-d', dir, 'key', 'generate', '--role', 'targets', '--gun', gun]);
    assert.equal(gen.code, 0, gen.stderr);
    await signet(['-d', dir, 'key', 'generate']);
    const ours = await signet(['-d', dir, 'key', 'list']);
    assert.equal(ours.stdout, runNotary(['key', 'list'], { trustDir: dir }).stdout);
    assert.match(ours.stdout, /\.\.\.y-long-repository-name {4}/);
    assert.match(ours.stdout, /\.\.\..{37}\n/);
  });

  it('--output json lists every key with role, gun, algorithm and file', async () => {
    const dir = copyFixtureTrustDir('owner');
    const r = await signet(['-d', dir, '--output', 'json', 'key', 'list']);
    assert.equal(r.code, 0, r.stderr);
    const keys = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      keys.map((k) => [k.role, k.gun, k.keyId]),
      [
        ['root', null, '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac'],
        ['targets', 'example.com/app', '50c5db8043356e6c1ca87f7a06aa909493c9b12d1153079d790ace59bd826d11'],
      ],
    );
    assert.equal(keys[0]!.file, path.join(dir, 'private', '9d2559cdded5e3c64f751bcf617fdcb9de1b4d6e105be53c54dafa62606321ac.key'));
    assert.equal(keys[0]!.location, path.join(dir, 'private'));
  });

  it('every key command has --help with examples', async () => {
    for (const sub of ['list', 'generate', 'remove', 'passwd', 'import', 'export', 'rotate']) {
      const r = await signet(['key', sub, '--help']);
      assert.equal(r.code, 0, sub);
      assert.match(r.stdout, /\nExamples:\n {2}\$ signet /, sub);
    }
  });

  it('sorts root first, then by gun, role and key ID (Go byte order)', () => {
    const row = (role: string, gun: string, keyId: string): KeyRow => ({ role, gun, keyId, location: 'l', file: 'f', algorithm: 'ecdsa' });
    const sorted = sortKeyRows([row('targets', 'b', '1'), row('snapshot', 'a', '2'), row('root', '', '9'), row('targets/x', '', '3'), row('root', '', '0'), row('targets', 'B', '4')]);
    assert.deepEqual(
      sorted.map((r) => `${r.role}:${r.gun}:${r.keyId}`),
      ['root::0', 'root::9', 'targets/x::3', 'targets:B:4', 'snapshot:a:2', 'targets:b:1'],
    );
    assert.equal(truncateLeft('abcdefghij', 8), '...fghij');
    assert.equal(truncateLeft('abcdefgh', 8), 'abcdefgh');
  });
});

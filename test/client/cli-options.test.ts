// SPDX-License-Identifier: Apache-2.0
// Option parsing as notary's: list options split on commas as Go's
// StringSlice does (one CSV record per value), `--paths ""` is an empty list,
// an empty purge key is refused, and parser errors name the command's --help.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { FileChangelist } from '../../client/changelist.js';
import { csvValues } from '../../client/commands/context.js';
import { changelistDir } from '../../client/trust-dir.js';
import { signet } from './support/cli-run.js';

const GUN = 'example.com/options';

/** The JSON payloads of the staged changes of GUN in `trustDir`, in order. */
function stagedData(trustDir: string): Array<{ role: string; data: unknown }> {
  return new FileChangelist(changelistDir(trustDir, GUN)).list().map((c) => ({ role: c.role, data: c.data === null ? null : JSON.parse(c.data.toString('utf8')) }));
}

function tempTrustDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'signet-options-'));
}

describe('csvValues: one CSV record per value, as pflag StringSlice reads it', () => {
  const parse = (...values: string[]): string[] => values.reduce<string[]>((acc, v) => csvValues(v, acc), []);

  it('splits on commas and collects repeated options', () => {
    assert.deepEqual(parse('a,b', 'c'), ['a', 'b', 'c']);
    assert.deepEqual(parse(' a , b'), [' a ', ' b'], 'spaces are kept, as notary keeps them');
  });

  it('an empty value adds nothing; empty fields and quoted values are kept', () => {
    assert.deepEqual(parse(''), []);
    assert.deepEqual(parse('a', ''), ['a']);
    assert.deepEqual(parse(','), ['', '']);
    assert.deepEqual(parse('a,'), ['a', '']);
    assert.deepEqual(parse('""'), ['']);
    assert.deepEqual(parse('"x,y",z'), ['x,y', 'z']);
    assert.deepEqual(parse('"say ""hi"""'), ['say "hi"']);
  });

  it('refuses what notary\'s CSV reader refuses, and values spanning lines', () => {
    for (const bad of ['a"b', '"a', '"a"b', 'a\nb']) assert.throws(() => parse(bad), InvalidArgumentError, JSON.stringify(bad));
  });
});

describe('list options on the command line', () => {
  it('delegation add --paths a,b --paths c stages three paths; a quoted "" path is every path', async () => {
    const dir = tempTrustDir();
    try {
      const r = await signet(['-d', dir, 'delegation', 'add', GUN, 'targets/a', '--paths', 'a,b', '--paths', 'c']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /with paths \[a\nb\nc\]/);
      const r2 = await signet(['-d', dir, 'delegation', 'add', GUN, 'targets/b', '--paths', 'x,""']);
      assert.equal(r2.code, 0, r2.stderr);
      assert.deepEqual(stagedData(dir), [
        { role: 'targets/a', data: { add_paths: ['a', 'b', 'c'] } },
        { role: 'targets/b', data: { add_paths: [''] } },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--paths "" is an empty list as in notary: with nothing else to stage, add and remove refuse instead of staging nothing', async () => {
    const dir = tempTrustDir();
    try {
      const add = await signet(['-d', dir, 'delegation', 'add', GUN, 'targets/a', '--paths', '']);
      assert.equal(add.code, 2);
      assert.match(add.stderr, /nothing to add to targets\/a: --paths "" is an empty list of paths \(as in notary\), not the "" path; for every path give --all-paths/);
      const remove = await signet(['-d', dir, 'delegation', 'remove', GUN, 'targets/a', '--paths', '']);
      assert.equal(remove.code, 2);
      assert.match(remove.stderr, /nothing to remove from targets\/a: --paths "" is an empty list/);
      assert.doesNotMatch(remove.stderr, /Forced removal/, 'not taken as "remove the whole delegation"');
      assert.deepEqual(stagedData(dir), []);
      // the "" path itself, quoted, is removed as notary removes it
      const quoted = await signet(['-d', dir, 'delegation', 'remove', GUN, 'targets/a', '--paths', '""']);
      assert.equal(quoted.code, 0, quoted.stderr);
      assert.deepEqual(stagedData(dir), [{ role: 'targets/a', data: { remove_paths: [''] } }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delegation purge splits --key on commas and refuses an empty key ID', async () => {
    const dir = tempTrustDir();
    try {
      for (const key of ['', 'a,', ',']) {
        const r = await signet(['-d', dir, 'delegation', 'purge', GUN, '--key', key]);
        assert.equal(r.code, 2, `--key ${JSON.stringify(key)}`);
        assert.match(r.stderr, /--key needs a key ID, as `delegation list` prints them, and got (none|an empty one)/);
      }
      assert.deepEqual(stagedData(dir), []);
      const ok = await signet(['-d', dir, 'delegation', 'purge', GUN, '--key', 'k1,k2', '--key', 'k3']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.deepEqual(stagedData(dir), [{ role: 'targets/*', data: { remove_keys: ['k1', 'k2', 'k3'] } }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('-r splits on commas through the same parser (a quoted role with a comma stays one, and is refused as a role)', async () => {
    const dir = tempTrustDir();
    try {
      const r = await signet(['-d', dir, 'addhash', GUN, 'v1', '3', '--sha256', 'ab'.repeat(32), '-r', 'targets/a,targets/b']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(new FileChangelist(changelistDir(dir, GUN)).list().map((c) => c.role), ['targets/a', 'targets/b']);
      const bad = await signet(['-d', dir, 'addhash', GUN, 'v1', '3', '--sha256', 'ab'.repeat(32), '-r', 'targets/a"']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /argument 'targets\/a"' is invalid\. .*quote/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parser errors end with the --help of the command that was run', () => {
  const cases: Array<[string[], RegExp, string]> = [
    [['add', GUN, 'v1', 'file', '--bogus'], /unknown option '--bogus'/, 'signet add'],
    [['add', GUN], /missing required argument 'target'/, 'signet add'],
    [['delegation', 'add'], /missing required argument 'gun'/, 'signet delegation add'],
    [['key', 'list', '--nope'], /unknown option '--nope'/, 'signet key list'],
    [['reset', GUN, '-n', 'x'], /-n takes change numbers/, 'signet reset'],
    [['delegation', 'add', GUN, 'targets/a', '--paths', 'a"b'], /quote inside an unquoted value/, 'signet delegation add'],
    [['status', GUN, '--output', 'out.txt'], /--output takes text or json here/, 'signet status'],
    [['bogus'], /unknown command 'bogus'/, 'signet'],
  ];
  for (const [args, error, cmd] of cases) {
    it(`${args.join(' ')} → (run '${cmd} --help' ...)`, async () => {
      const r = await signet(args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, error);
      assert.ok(r.stderr.endsWith(`(run '${cmd} --help' for its usage)\n`), r.stderr);
    });
  }
});

// SPDX-License-Identifier: Apache-2.0
import { after, afterEach, before, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { changeFileName, encodeChange, FileChangelist, parseChange, type Change } from '../../client/changelist.js';
import { DeserializationError, TrustDirError, UsageError } from '../../shared/errors.js';
import { fixture } from '../support/paths.js';
import { NOTARY_PASSPHRASES, runNotary } from './support/notary.js';

const FIXTURE_DIRS = ['01-add-target', '02-delegations'].map((d) => fixture('changelist', d));
const NAME_RE = /^\d{20}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.change$/;

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cl-'));
}

function targetChange(name: string, content: string): Change {
  const bytes = Buffer.from(content);
  const meta = JSON.stringify({
    length: bytes.length,
    hashes: { sha256: createHash('sha256').update(bytes).digest('base64'), sha512: createHash('sha512').update(bytes).digest('base64') },
  });
  return { action: 'create', role: 'targets', type: 'target', path: name, data: Buffer.from(meta) };
}

describe('change files', () => {
  it('reads every fixture change and re-encodes it byte for byte', () => {
    let n = 0;
    for (const dir of FIXTURE_DIRS) {
      for (const file of fs.readdirSync(dir)) {
        const bytes = fs.readFileSync(path.join(dir, file));
        const c = parseChange(bytes, file);
        assert.deepEqual(encodeChange(c), bytes, file);
        n++;
      }
    }
    assert.equal(n, 5);
  });

  it('decodes the fixture target change into its FileMeta', () => {
    const cl = new FileChangelist(FIXTURE_DIRS[0]!);
    const [c] = cl.list();
    assert.ok(c);
    assert.equal(c.action, 'create');
    assert.equal(c.role, 'targets');
    assert.equal(c.type, 'target');
    assert.equal(c.path, 'v1.0.0');
    const meta = JSON.parse(c.data!.toString('utf8')) as { length: number; custom: unknown };
    assert.equal(meta.length, 15);
    assert.deepEqual(meta.custom, { built_by: 'ci', commit: '0123abcd' });
  });

  it('lists the delegation fixtures in file-name order', () => {
    const list = new FileChangelist(FIXTURE_DIRS[1]!).list();
    assert.deepEqual(
      list.map((c) => [c.role, c.type, c.path]),
      [
        ['targets/releases', 'delegation', ''],
        ['targets/releases', 'delegation', ''],
        ['targets/jenkins', 'delegation', ''],
        ['targets/jenkins', 'delegation', ''],
      ],
    );
    assert.equal(list[1]!.data!.toString(), '{"add_paths":[""]}');
  });

  it('writes Go struct order, Go string escapes and null data', () => {
    const c: Change = { action: 'delete', role: 'targets', type: 'target', path: 'a<b>&c\n\u0001\u2028é"\\', data: null };
    assert.equal(
      encodeChange(c).toString('utf8'),
      '{"action":"delete","role":"targets","type":"target","path":"a\\u003cb\\u003e\\u0026c\\n\\u0001\\u2028é\\"\\\\","data":null}',
    );
  });

  it('reads names case-insensitively and missing members as empty, like Go', () => {
    const c = parseChange(Buffer.from('{"ACTION":"create","Role":"targets","type":"target","data":null,"extra":1}'), 'f');
    assert.deepEqual(c, { action: 'create', role: 'targets', type: 'target', path: '', data: null });
  });

  const bad: Record<string, string> = {
    'non-JSON bytes': '{"action":',
    'an array': '[]',
    'a non-string action': '{"action":1}',
    'unpadded base64 data': '{"data":"YQ"}',
    'numeric data': '{"data":5}',
  };
  for (const [name, body] of Object.entries(bad)) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseChange(Buffer.from(body), 'x.change'), DeserializationError);
    });
  }
});

describe('FileChangelist', () => {
  it('names files %020d_<uuid>.change, mode 0600, no temp files left, in insertion order', () => {
    const dir = path.join(tmp(), 'tuf', 'example.com', 'app', 'changelist');
    const cl = new FileChangelist(dir);
    const names = [cl.add(targetChange('a', 'x')), cl.add(targetChange('b', 'y')), cl.add(targetChange('c', 'z'))];
    for (const n of names) assert.match(n, NAME_RE);
    assert.deepEqual(fs.readdirSync(dir).sort(), [...names].sort());
    assert.deepEqual(cl.list().map((c) => c.path), ['a', 'b', 'c']);
    assert.equal(fs.statSync(path.join(dir, names[0]!)).mode & 0o777, 0o600);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    // temp files go beside the directory and are renamed away
    assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['changelist']);
    const nanos = BigInt(names[0]!.slice(0, 20));
    assert.ok(nanos > BigInt(Date.now() - 60_000) * 1_000_000n, 'file name carries Unix nanoseconds');
  });

  it('changeFileName pads to 20 digits', () => {
    assert.equal(changeFileName(42n, 'u'), '00000000000000000042_u.change');
  });

  it('removes by index and clears', () => {
    const cl = new FileChangelist(path.join(tmp(), 'cl'));
    for (const n of ['a', 'b', 'c', 'd']) cl.add(targetChange(n, n));
    cl.remove([1, 3, 1]);
    assert.deepEqual(cl.list().map((c) => c.path), ['a', 'c']);
    assert.throws(() => cl.remove([2]), (e: unknown) => e instanceof UsageError && /no change #2: 2 change/.test(e.message));
    assert.deepEqual(cl.list().map((c) => c.path), ['a', 'c'], 'a bad index removes nothing');
    cl.clear();
    assert.deepEqual(cl.list(), []);
  });

  it('lists file names in byte order, as Go sorts them, also where UTF-16 order differs', () => {
    const dir = path.join(tmp(), 'cl');
    fs.mkdirSync(dir);
    // UTF-16 puts the surrogate pair of U+1F600 (0xD83D) before U+FF01; UTF-8 bytes (F0 vs EF) do not.
    const names = ['\u{1F600}.change', '\uFF01.change', 'b.change', 'a.change'];
    for (const n of names) fs.writeFileSync(path.join(dir, n), encodeChange({ action: 'create', role: 'targets', type: 'target', path: n, data: null }));
    assert.deepEqual(new FileChangelist(dir).fileNames(), ['a.change', 'b.change', '\uFF01.change', '\u{1F600}.change']);
  });

  it('an absent directory is an empty changelist', () => {
    assert.deepEqual(new FileChangelist(path.join(tmp(), 'none')).list(), []);
  });

  it('refuses to list a corrupt change, naming it and the reset index, and can remove it', () => {
    const dir = path.join(tmp(), 'cl');
    const cl = new FileChangelist(dir);
    cl.add(targetChange('a', 'a'));
    fs.writeFileSync(path.join(dir, '99999999999999999999_junk.change'), 'not json');
    assert.throws(
      () => cl.list(),
      (e: unknown) => e instanceof DeserializationError && /99999999999999999999_junk\.change/.test(e.message) && /-n 1/.test(e.message),
    );
    cl.remove([1]);
    assert.equal(cl.list().length, 1);
  });

  it('refuses entries that are not readable files, naming each with its reset index; a FIFO does not hang the listing', { timeout: 20_000 }, () => {
    const dir = path.join(tmp(), 'cl');
    const cl = new FileChangelist(dir);
    cl.add(targetChange('a', 'a'));
    const target = path.join(dir, '..', 'a-directory');
    fs.mkdirSync(target);
    fs.symlinkSync(target, path.join(dir, '99999999999999999997_dirlink.change'));
    fs.symlinkSync(path.join(dir, '..', 'gone'), path.join(dir, '99999999999999999998_dangling.change'));
    execFileSync('mkfifo', [path.join(dir, '99999999999999999999_fifo.change')]);
    // Each is change #1 in turn once the one before it is removed with its reset index.
    for (const [name, kind] of [['dirlink', TrustDirError], ['dangling', TrustDirError], ['fifo', DeserializationError]] as const) {
      assert.throws(() => cl.list(), (e: unknown) => e instanceof kind && new RegExp(`_${name}\\.change.*-n 1\\b`).test(e.message), name);
      cl.remove([1]);
    }
    assert.equal(cl.list().length, 1);
    assert.ok(fs.statSync(target).isDirectory(), 'removing the link left its target alone');
  });

  it('a changelist path that is a file is a TrustDirError naming it, not a crash', () => {
    const dir = path.join(tmp(), 'cl');
    fs.writeFileSync(dir, 'not a directory');
    assert.throws(() => new FileChangelist(dir).list(), (e: unknown) => e instanceof TrustDirError && e.message.includes(dir) && /ENOTDIR/.test(e.message));
  });

  it('refuses a change file that is not UTF-8 or starts with a byte-order mark, and reads a real U+FFFD', () => {
    const dir = path.join(tmp(), 'cl');
    const cl = new FileChangelist(dir);
    const body = (p: string): Buffer => encodeChange({ action: 'create', role: 'targets', type: 'target', path: p, data: null });
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '1.change'), body('replacement \uFFFD character'));
    assert.equal(cl.list()[0]!.path, 'replacement \uFFFD character');
    const invalid = Buffer.from(body('x'));
    invalid[invalid.indexOf('"x"') + 1] = 0xff; // a byte no UTF-8 text holds
    fs.writeFileSync(path.join(dir, '2.change'), invalid);
    assert.throws(() => cl.list(), (e: unknown) => e instanceof DeserializationError && /change #1 .*not valid UTF-8/.test(e.message));
    fs.writeFileSync(path.join(dir, '2.change'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body('x')]));
    assert.throws(() => cl.list(), (e: unknown) => e instanceof DeserializationError && /change #1 .*not valid JSON/.test(e.message));
  });
});

describe('changelist interop with the notary binary', () => {
  let trustDir = '';
  const gun = 'example.com/interop';
  before(() => {
    trustDir = tmp();
  });
  after(() => fs.rmSync(trustDir, { recursive: true, force: true }));

  it('notary status lists changes signet staged, and notary reset removes them by index', () => {
    const cl = FileChangelist.forGun(trustDir, gun);
    cl.add(targetChange('first', 'one'));
    cl.add({ ...targetChange('odd<&>name', 'two'), role: 'targets/releases' });
    cl.add({ action: 'delete', role: 'targets', type: 'target', path: 'gone', data: null });
    const st = runNotary(['status', gun], { trustDir, env: NOTARY_PASSPHRASES });
    assert.equal(st.status, 0, st.stderr + st.stdout);
    const rows = st.stdout.split('\n').filter((l) => /^\d+\s/.test(l)).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows, [
      ['0', 'create', 'targets', 'target', 'first'],
      ['1', 'create', 'targets/releases', 'target', 'odd<&>name'],
      ['2', 'delete', 'targets', 'target', 'gone'],
    ]);
    const reset = runNotary(['reset', gun, '-n', '1'], { trustDir, env: NOTARY_PASSPHRASES });
    assert.equal(reset.status, 0, reset.stdout);
    assert.deepEqual(cl.list().map((c) => c.path), ['first', 'gone']);
    cl.clear();
  });

  it('signet reads changes the notary binary staged', () => {
    const payload = path.join(trustDir, 'payload.txt');
    fs.writeFileSync(payload, 'hello interop\n');
    const custom = path.join(trustDir, 'custom.json');
    fs.writeFileSync(custom, '{"a":1}');
    const add = runNotary(['add', gun, 'v9', payload, '--custom', custom], { trustDir, env: NOTARY_PASSPHRASES });
    assert.equal(add.status, 0, add.stdout + add.stderr);
    const rm = runNotary(['remove', gun, 'old'], { trustDir, env: NOTARY_PASSPHRASES });
    assert.equal(rm.status, 0, rm.stdout + rm.stderr);
    const list = FileChangelist.forGun(trustDir, gun).list();
    assert.equal(list.length, 2);
    const [a, r] = list;
    assert.match(a!.file, NAME_RE);
    assert.deepEqual([a!.action, a!.role, a!.type, a!.path], ['create', 'targets', 'target', 'v9']);
    const meta = JSON.parse(a!.data!.toString()) as { length: number; hashes: { sha256: string }; custom: unknown };
    assert.equal(meta.length, 14);
    assert.equal(meta.hashes.sha256, createHash('sha256').update('hello interop\n').digest('base64'));
    assert.deepEqual(meta.custom, { a: 1 });
    assert.deepEqual([r!.action, r!.path, r!.data], ['delete', 'old', null]);
    // and our encoding of notary's own file is byte-identical
    assert.deepEqual(encodeChange(a!), fs.readFileSync(path.join(FileChangelist.forGun(trustDir, gun).dir, a!.file)));
  });
});

describe('staging several changes is all or none', () => {
  // A full disk or a vanished directory cannot be had on demand here: fs is made to fail at the Nth call.
  function failing(method: 'openSync' | 'renameSync', nth: number): void {
    let calls = 0;
    const real = fs[method] as (...args: unknown[]) => unknown;
    mock.method(fs, method, (...args: unknown[]) => {
      if (++calls === nth) throw Object.assign(new Error(`ENOSPC: no space left on device, ${method}`), { code: 'ENOSPC' });
      return real.apply(fs, args);
    });
  }
  afterEach(() => mock.restoreAll());

  for (const [method, nth] of [['openSync', 2], ['renameSync', 2]] as const) {
    it(`a failure at the ${method} of the second change leaves the changelist and its parent as they were`, () => {
      const root = tmp();
      const list = new FileChangelist(path.join(root, 'tuf', 'example.com', 'app', 'changelist'));
      list.add(targetChange('kept', 'x'));
      const parent = fs.readdirSync(path.dirname(list.dir)).sort();
      failing(method, nth);
      assert.throws(() => list.addAll([targetChange('a', '1'), targetChange('b', '2'), targetChange('c', '3')]), /ENOSPC/);
      mock.restoreAll();
      assert.deepEqual(list.list().map((c) => c.path), ['kept']);
      assert.deepEqual(fs.readdirSync(path.dirname(list.dir)).sort(), parent, 'no temp file left beside the directory');
    });
  }

  it('names come back in the order given, and list applies them in that order', () => {
    const list = new FileChangelist(path.join(tmp(), 'changelist'));
    const files = list.addAll(['a', 'b', 'c'].map((n) => targetChange(n, n)));
    assert.deepEqual(list.fileNames(), files);
    assert.deepEqual(list.list().map((c) => c.path), ['a', 'b', 'c']);
  });
});

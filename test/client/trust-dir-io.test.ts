// SPDX-License-Identifier: Apache-2.0
// A trust dir the CLI cannot write: what was verified is still used, what the
// server accepted is reported as accepted, and every failure names the path,
// the errno and what to do, never "unexpected error". Permissions do not bind
// root, so the CLI runs as `nobody` (setpriv) when the tests run as root.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileChangelist } from '../../client/changelist.js';
import { errorFromResponse } from '../../client/remote.js';
import { TrustDirError } from '../../shared/errors.js';
import { FileInTheWayError } from '../../keys/index.js';
import { startSignetServer, type TrustServer } from './support/signet-server.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'signet.cjs');
const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
const CAN_DROP = !ROOT || spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
const GUN = 'example.com/io';

describe('a trust dir the CLI cannot write', { skip: CAN_DROP ? false : 'skipped: running as root without setpriv to drop to nobody' }, () => {
  let server: TrustServer;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-io-'));
  const trust = path.join(home, 'trust');
  const gunDir = path.join(trust, 'tuf', ...GUN.split('/'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, CI: 'true', NOTARY_ROOT_PASSPHRASE: 'io-root-pass-1', NOTARY_TARGETS_PASSPHRASE: 'io-targets-pass-1', NOTARY_SNAPSHOT_PASSPHRASE: 'io-snapshot-pass-1' };
  // asynchronous: the signet-server answering it runs in this process
  const signet = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> => {
    const argv = [BIN, '-s', server.url, '-d', trust, ...args];
    const [cmd, full] = ROOT ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, ...argv]] : [process.execPath, argv];
    return new Promise((resolve) => {
      execFile(cmd, full, { env, cwd: home, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
      );
    });
  };
  const ok = (r: { status: number | null; stderr: string }, what: string): void => assert.equal(r.status, 0, `${what}: ${r.stderr}`);

  before(async () => {
    server = await startSignetServer();
    if (ROOT) fs.chownSync(home, NOBODY, NOBODY);
    fs.writeFileSync(path.join(home, 'payload'), 'io payload\n');
    ok(await signet('init', GUN, '-p'), 'init');
    ok(await signet('add', GUN, 'first', path.join(home, 'payload'), '-p'), 'first publish');
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('list and lookup use what they verified when the cache cannot take it (as notary does), with a warning', async () => {
    ok(await signet('add', GUN, 'second', path.join(home, 'payload'), '-p'), 'second publish');
    // the cached timestamp is gone, so list downloads one, and the cache cannot take it
    fs.rmSync(path.join(gunDir, 'metadata', 'timestamp.json'));
    fs.chmodSync(path.join(gunDir, 'metadata'), 0o500);
    try {
      ok(await signet('add', GUN, 'third', path.join(home, 'payload')), 'stage');
      const listed = await signet('list', GUN);
      ok(listed, 'list with a read-only cache');
      assert.match(listed.stdout, /^first\s/m);
      assert.match(listed.stdout, /^second\s/m);
      assert.match(listed.stderr, /warning: cannot write the metadata cache of example\.com\/io at .* \(EACCES\); .*the verified metadata was used without caching it/);
      assert.doesNotMatch(listed.stderr, /unexpected error/);
    } finally {
      fs.chmodSync(path.join(gunDir, 'metadata'), 0o700);
    }
  });

  it('a publish the server accepted is reported as accepted when the applied change files cannot be removed, naming the remedy', async () => {
    fs.chmodSync(path.join(gunDir, 'changelist'), 0o500);
    try {
      const r = await signet('publish', GUN);
      ok(r, 'publish with a read-only changelist');
      assert.match(r.stdout, /Successfully published changes for repository example\.com\/io/);
      assert.match(r.stderr, /warning: the server accepted them, but 1 applied change file\(s\) could not be removed from .*changelist \(EACCES\): .*\.change; remove them \(`signet reset example\.com\/io --all` once the directory is writable\)/);
      assert.doesNotMatch(r.stderr, /unexpected error/);
    } finally {
      fs.chmodSync(path.join(gunDir, 'changelist'), 0o700);
    }
    assert.match((await signet('list', GUN)).stdout, /^third\s/m, 'the server holds the published target');
  });

  it('staging into a changelist that cannot be written says where and what to do, and stages nothing', async () => {
    fs.chmodSync(path.join(gunDir, 'changelist'), 0o500);
    try {
      const r = await signet('add', GUN, 'fourth', path.join(home, 'payload'));
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^signet: cannot stage changes in the changelist .*changelist: .* \(EACCES\); you may not write there: make the trust directory yours and writable, or use another \(-d\)\. Nothing was staged/m);
      assert.doesNotMatch(r.stderr, /unexpected error/);
    } finally {
      fs.chmodSync(path.join(gunDir, 'changelist'), 0o700);
    }
    assert.doesNotMatch((await signet('status', GUN)).stdout, /fourth/);
  });
});

describe('trust dir I/O without a server', () => {
  it('removeFiles reports a change file it cannot remove instead of throwing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-io-cl-'));
    try {
      const cl = new FileChangelist(dir);
      const [file] = cl.addAll([{ action: 'create', role: 'targets', type: 'target', path: 'x', data: null }]);
      fs.mkdirSync(path.join(dir, 'not-a-file.change'));
      fs.mkdirSync(path.join(dir, 'not-a-file.change', 'inside'));
      const stuck = cl.removeFiles([file!, 'not-a-file.change']);
      assert.deepEqual(stuck.map((s) => s.file), ['not-a-file.change']);
      assert.ok(!fs.existsSync(path.join(dir, file!)), 'the removable file is gone');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('staging where the changelist is a file fails with a FileInTheWayError naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-io-cl-'));
    try {
      const file = path.join(dir, 'changelist');
      const cl = new FileChangelist(file);
      fs.writeFileSync(file, 'not a directory');
      const change = { action: 'create', role: 'targets', type: 'target', path: 'x', data: null };
      assert.throws(
        () => cl.addAll([change]),
        (e: unknown) =>
          e instanceof FileInTheWayError && e instanceof TrustDirError && e.path === file &&
          e.message === `cannot stage changes in the changelist ${file}: ${file} is not a directory, but signet needs a directory there (EEXIST); move it away (rename or remove it) and retry. Nothing was staged`,
      );
      assert.throws(() => cl.list(), (e: unknown) => e instanceof FileInTheWayError && e.path === file && /cannot list the staged changes in .*\(ENOTDIR\); move it away/.test(e.message));
      // a file further up (ENOTDIR) is the one named
      const above = new FileChangelist(path.join(file, 'sub', 'changelist'));
      assert.throws(() => above.addAll([change]), (e: unknown) => e instanceof FileInTheWayError && e.path === file);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a 404 to an upload says -s names another service; a 404 to a read is "not found"', () => {
    const res = { status: 404, headers: {}, body: Buffer.from('404 page not found') };
    const upload = errorFromResponse(res, 'the update of targets', 'https://registry.example.com', 'g/a', 'POST');
    assert.equal(upload.code, 'HTTP_STATUS');
    assert.match(upload.message, /has no notary route for the update of targets of g\/a \(POST answered 404\); check that -s points at a notary trust server/);
    assert.equal(errorFromResponse(res, 'root metadata', 'https://n', 'g/a').code, 'METADATA_NOT_FOUND');
  });
});

// SPDX-License-Identifier: Apache-2.0
// End to end against the real notary-server and notary CLI: signet and notary
// share servers and trust directories in both directions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../client/cli.js';
import { EXIT } from '../../client/exit-codes.js';
import { fixture } from '../support/paths.js';
import { NOTARY_PASSPHRASES, runNotary, startNotaryServer, type NotaryServer } from './support/notary.js';
import { freePort } from '../support/net.js';
import { startStub, type Stub } from './support/http-stub.js';
import { sink, treeOf, type Run } from './support/cli-run.js';



async function signet(args: string[], env: Record<string, string> = NOTARY_PASSPHRASES): Promise<Run> {
  const out = sink();
  const err = sink();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-home-'));
  const code = await runCli(args, { stdout: out.stream, stderr: err.stream, stdin: new PassThrough(), env: { HOME: home, CI: 'true', ...env } });
  return { code, stdout: out.text(), stderr: err.text() };
}

const snapshotTree = treeOf;

describe('signet CLI with notary', () => {
  let server: NotaryServer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-cli-'));
  const payload = path.join(tmp, 'payload.txt');
  const dirs = { a: path.join(tmp, 'a'), b: path.join(tmp, 'b'), reader: path.join(tmp, 'reader'), ci: path.join(tmp, 'ci') };

  before(async () => {
    server = await startNotaryServer();
    fs.writeFileSync(payload, 'signet interop payload\n');
  });
  after(async () => {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const s = (dir: string, ...args: string[]): string[] => ['-s', server.url, '-d', dir, ...args];

  it('signet init/add/publish, then notary list shows the target exactly as signet lists it', async () => {
    const gun = 'example.com/signet-made';
    const init = await signet(s(dirs.a, 'init', gun, '-p'));
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /Root key created, using: [0-9a-f]{64}\nAuto-publishing changes to example\.com\/signet-made\nSuccessfully published/);
    const add = await signet(s(dirs.a, 'add', gun, 'v1', payload, '--custom', fixture('payloads', 'custom.json'), '-p'));
    assert.equal(add.code, 0, add.stderr);
    const mine = await signet(s(dirs.a, 'list', gun));
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stdout, /^v1\s+[0-9a-f]{64}\s+23\s+targets$/m);
    const theirs = runNotary(['list', gun], { trustDir: dirs.reader, server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(theirs.status, 0, theirs.stdout + theirs.stderr);
    assert.equal(theirs.stdout, mine.stdout);
    const lookup = runNotary(['lookup', gun, 'v1'], { trustDir: dirs.reader, server: server.url });
    assert.equal(lookup.stdout, (await signet(s(dirs.a, 'lookup', gun, 'v1'))).stdout);
  });

  it('notary publishes with the keys and cache signet wrote, and signet reads the result', async () => {
    const gun = 'example.com/signet-made';
    const add = runNotary(['add', '-p', gun, 'v2', payload], { trustDir: dirs.a, server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(add.status, 0, add.stdout + add.stderr);
    const list = await signet(s(dirs.a, 'list', gun, '--output', 'json'));
    assert.equal(list.code, 0, list.stderr);
    const parsed = JSON.parse(list.stdout) as Array<{ name: string; role: string; custom?: unknown }>;
    assert.deepEqual(parsed.map((t) => t.name).sort(), ['v1', 'v2']);
    assert.deepEqual(parsed.find((t) => t.name === 'v1')?.custom, { built_by: 'ci', commit: '0123abcd' });
  });

  it('notary init/add/publish, then signet lists and publishes in the same trust dir', async () => {
    const gun = 'example.com/notary-made';
    for (const args of [['init', '-p', gun], ['add', '-p', gun, 'n1', payload]]) {
      const r = runNotary(args, { trustDir: dirs.b, server: server.url, env: NOTARY_PASSPHRASES });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    }
    const list = await signet(s(dirs.b, 'list', gun));
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^n1\s/m);
    const add = await signet(s(dirs.b, 'add', gun, 'n2', payload, '-p'));
    assert.equal(add.code, 0, add.stderr);
    const theirs = runNotary(['list', gun], { trustDir: dirs.b, server: server.url });
    assert.match(theirs.stdout, /^n1\s/m);
    assert.match(theirs.stdout, /^n2\s/m);
  });

  it('follows a root rotation made by notary (new targets key): the snapshot names the new root', async () => {
    const gun = 'example.com/notary-made';
    const follower = path.join(tmp, 'follower');
    assert.equal((await signet(s(follower, 'list', gun))).code, 0);
    const rotate = runNotary(['key', 'rotate', gun, 'targets'], { trustDir: dirs.b, server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(rotate.status, 0, rotate.stdout + rotate.stderr);
    const add = runNotary(['add', '-p', gun, 'n3', payload], { trustDir: dirs.b, server: server.url, env: NOTARY_PASSPHRASES });
    assert.equal(add.status, 0, add.stdout + add.stderr);
    const list = await signet(s(follower, 'list', gun));
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^n3\s/m);
    const cachedRoot = JSON.parse(fs.readFileSync(path.join(follower, 'tuf', 'example.com', 'notary-made', 'metadata', 'root.json'), 'utf8')) as { signed: { version: number } };
    assert.equal(cachedRoot.signed.version, 2);
  });

  it('status prints what notary status prints, and reset drops by number', async () => {
    const gun = 'example.com/staging';
    for (const t of ['s1', 's2', 's3']) assert.equal((await signet(s(dirs.a, 'add', gun, t, payload))).code, 0);
    const mine = await signet(s(dirs.a, 'status', gun));
    const theirs = runNotary(['status', gun], { trustDir: dirs.a, server: server.url });
    assert.equal(mine.stdout, theirs.stdout);
    assert.equal((await signet(s(dirs.a, 'reset', gun, '-n', '0,2'))).code, 0);
    assert.match((await signet(s(dirs.a, 'status', gun))).stdout, /^0\s+create\s+targets\s+target\s+s2$/m);
    assert.equal((await signet(s(dirs.a, 'reset', gun, '-n', '5'))).code, EXIT.USAGE);
    assert.equal((await signet(s(dirs.a, 'reset', gun))).code, EXIT.USAGE);
    assert.equal((await signet(s(dirs.a, 'reset', gun, '--all'))).code, 0);
    assert.equal((await signet(s(dirs.a, 'status', gun))).stdout, `No unpublished changes for ${gun}\n`);
  });

  it('CI=true without a passphrase: exit 3, names the variable, writes nothing', async () => {
    const r = await signet(s(dirs.ci, 'init', 'example.com/ci', '-p'), { NOTARY_ROOT_PASSPHRASE: 'only-root-pass' });
    assert.equal(r.code, EXIT.CREDENTIALS);
    assert.match(r.stderr, /NOTARY_TARGETS_PASSPHRASE/);
    assert.doesNotMatch(r.stderr, /only-root-pass/);
    assert.deepEqual(snapshotTree(dirs.ci), new Map());
  });

  it('a publish that cannot reach the server leaves changelist and cache as they were (exit 5)', async () => {
    const gun = 'example.com/signet-made';
    assert.equal((await signet(s(dirs.a, 'add', gun, 'v3', payload))).code, 0);
    const before = snapshotTree(path.join(dirs.a, 'tuf'));
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r = await signet(['-s', dead, '-d', dirs.a, 'publish', gun]);
    assert.equal(r.code, EXIT.NETWORK, r.stderr);
    assert.deepEqual(snapshotTree(path.join(dirs.a, 'tuf')), before);
  });

  it('a publish the server refuses leaves changelist and cache as they were (exit 6)', async () => {
    const gun = 'example.com/signet-made';
    const version = fs.readFileSync(fixture('errors', '11-post-replayed-targets.http'), 'utf8');
    const body = version.slice(version.indexOf('\r\n\r\n') + 4).replace(/^\n/, '');
    // Reads go to the real server; the upload is answered as a lost race would be.
    const proxy: Stub = await startStub((req, res) => {
      if (req.method === 'POST') {
        res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
        res.end(body.length > 0 ? body : '{"errors":[{"code":"VERSION","message":"A newer version of metadata is already available.","detail":{}}]}\n');
        return;
      }
      void fetch(server.url + req.url).then(async (r) => {
        res.writeHead(r.status);
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
    try {
      const before = snapshotTree(path.join(dirs.a, 'tuf'));
      const r = await signet(['-s', proxy.url, '-d', dirs.a, 'publish', gun]);
      assert.equal(r.code, EXIT.REJECTED, r.stderr);
      assert.match(r.stderr, /someone else published meanwhile; publish again/);
      assert.deepEqual(snapshotTree(path.join(dirs.a, 'tuf')), before);
    } finally {
      await proxy.close();
    }
    const ok = await signet(s(dirs.a, 'publish', gun));
    assert.equal(ok.code, 0, ok.stderr);
    assert.match((await signet(s(dirs.a, 'list', gun))).stdout, /^v3\s/m);
    assert.equal((await signet(s(dirs.a, 'status', gun))).stdout, `No unpublished changes for ${gun}\n`);
  });

  it('a publish whose answer is lost says the outcome is unknown and keeps the changes staged (exit 5)', async () => {
    const gun = 'example.com/signet-made';
    assert.equal((await signet(s(dirs.a, 'add', gun, 'v-lost', payload))).code, 0);
    // The upload reaches the real server, which applies it; the answer never comes back.
    const proxy: Stub = await startStub((req, res) => {
      void fetch(server.url + req.url, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' }, ...(req.method === 'POST' ? { body: req.body } : {}) }).then(async (r) => {
        if (req.method === 'POST') {
          res.socket?.destroy();
          return;
        }
        res.writeHead(r.status);
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
    try {
      const r = await signet(['-s', proxy.url, '-d', dirs.a, 'publish', gun]);
      assert.equal(r.code, EXIT.NETWORK, r.stderr);
      assert.match(r.stderr, /The upload may have reached the server, so whether it was applied is unknown: your changes stay staged/);
    } finally {
      await proxy.close();
    }
    assert.match((await signet(s(dirs.a, 'status', gun))).stdout, /v-lost/);
    assert.match((await signet(s(dirs.a, 'list', gun))).stdout, /^v-lost\s/m, 'the server did apply it');
    assert.equal((await signet(s(dirs.a, 'publish', gun))).code, 0, 'publishing the same addition again is harmless');
  });

  it('a publish the server accepted but whose cache cannot be written: a warning, and the changes are not left staged', async () => {
    const gun = 'example.com/signet-made';
    assert.equal((await signet(s(dirs.a, 'add', gun, 'v4', payload))).code, 0);
    // Every temp name the cache write could use is taken by a directory, so that write fails.
    const meta = path.join(dirs.a, 'tuf', 'example.com', 'signet-made', 'metadata');
    const blockers = ['root', 'targets', 'snapshot', 'timestamp'].flatMap((r) => [0, 1, 2, 3, 4].map((i) => path.join(meta, `${r}.json.${process.pid}.${i}.tmp`)));
    for (const b of blockers) fs.mkdirSync(b);
    try {
      const r = await signet(s(dirs.a, 'publish', gun));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /the server accepted the update of example\.com\/signet-made, but the local cache in .* could not be updated/);
      assert.equal((await signet(s(dirs.a, 'status', gun))).stdout, `No unpublished changes for ${gun}\n`);
    } finally {
      for (const b of blockers) fs.rmdirSync(b);
    }
    assert.match((await signet(s(dirs.a, 'list', gun))).stdout, /^v4\s/m);
    assert.equal((await signet(s(dirs.a, 'add', gun, 'v5', payload, '-p'))).code, 0, 'the next publish works from the stale cache');
  });

  it('an init whose metadata cannot be written removes the keys it made, so a retry leaves exactly one set', async () => {
    const gun = 'example.com/init-fails';
    const dir = path.join(tmp, 'init-fails');
    const meta = path.join(dir, 'tuf', 'example.com', 'init-fails', 'metadata');
    const blockers = ['root', 'targets', 'snapshot'].flatMap((r) => [0, 1, 2].map((i) => path.join(meta, `${r}.json.${process.pid}.${i}.tmp`)));
    for (const b of blockers) fs.mkdirSync(b, { recursive: true });
    const keyFiles = (): string[] => (fs.existsSync(path.join(dir, 'private')) ? fs.readdirSync(path.join(dir, 'private')).filter((f) => f.endsWith('.key')) : []);
    const failed = await signet(s(dir, 'init', gun));
    assert.notEqual(failed.code, 0, failed.stderr);
    assert.deepEqual(keyFiles(), []);
    for (const b of blockers) fs.rmdirSync(b);
    const ok = await signet(s(dir, 'init', gun));
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(keyFiles().length, 3);
  });

  it('refuses a replayed older timestamp once a newer one is cached (rollback, exit 4)', async () => {
    const gun = 'example.com/rollback';
    const dir = path.join(tmp, 'rollback');
    assert.equal((await signet(s(dir, 'init', gun, '-p'))).code, 0);
    const old = Buffer.from(await (await fetch(`${server.url}/v2/${gun}/_trust/tuf/timestamp.json`)).arrayBuffer());
    assert.equal((await signet(s(dir, 'add', gun, 'r1', payload, '-p'))).code, 0);
    assert.equal((await signet(s(dir, 'list', gun))).code, 0);
    const replay: Stub = await startStub((req, res) => {
      if (req.url.endsWith('/timestamp.json')) {
        res.writeHead(200);
        res.end(old);
        return;
      }
      void fetch(server.url + req.url).then(async (r) => {
        res.writeHead(r.status);
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
    try {
      const r = await signet(['-s', replay.url, '-d', dir, 'list', gun]);
      assert.equal(r.code, EXIT.VERIFICATION, r.stderr);
      assert.match(r.stderr, /timestamp version 1 is lower than the trusted version 2/);
    } finally {
      await replay.close();
    }
  });

  it('init refuses a GUN the server already has (exit 2)', async () => {
    const r = await signet(s(path.join(tmp, 'again'), 'init', 'example.com/signet-made'));
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.stderr, /already exists on the server/);
  });

  it('publishing into a repository that exists nowhere exits 7 (not found), as the docs promise scripts', async () => {
    const dir = path.join(tmp, 'nowhere');
    for (const args of [['publish', 'example.com/never-made'], ['sign', 'example.com/never-made', '1.0', '--digest', `sha256:${'a'.repeat(64)}`, '--size', '10']]) {
      const r = await signet(s(dir, ...args));
      assert.equal(r.code, EXIT.NOT_FOUND, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /example\.com\/never-made exists neither on the server nor locally; create it with `signet init example\.com\/never-made`/);
    }
    const rotate = await signet(s(dir, 'key', 'rotate', 'example.com/never-made', 'targets'));
    assert.equal(rotate.code, EXIT.NOT_FOUND, rotate.stderr);
    assert.match(rotate.stderr, /has no trust data on the server yet; publish it first/);
  });

  it('usage errors exit 2', async () => {
    assert.equal((await signet(['list'])).code, EXIT.USAGE);
    assert.equal((await signet(['frobnicate'])).code, EXIT.USAGE);
    const bad = await signet(s(dirs.a, 'list', '../escape'));
    assert.equal(bad.code, EXIT.USAGE);
    assert.match(bad.stderr, /"\.\."/);
    assert.equal((await signet(['--output', 'yaml', 'status', 'g/x'])).code, EXIT.USAGE);
  });
});

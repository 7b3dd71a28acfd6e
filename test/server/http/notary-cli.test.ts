// SPDX-License-Identifier: Apache-2.0
// The stock notary 0.7 CLI against signet-server's HTTP layer (real service,
// embedded store): init, publish, list, server-managed snapshot key,
// delete. Then the publish error captures (errors/11-14) replayed with bytes
// the CLI produced. `list` after each publish also proves the current
// metadata cache is invalidated by publishes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { makeApp, multipartBody, tempDir, type TestApp } from './harness.js';
import { assertMatchesCapture, body, raw } from './capture-assert.js';

const GUN = 'example.com/cli';
const haveNotary = ((): boolean => {
  try {
    return fs.statSync('/usr/bin/notary').isFile();
  } catch {
    return false;
  }
})();

let t: TestApp;
let server: http.Server;
let url = '';
let dir = '';

function notary(...args: string[]): Promise<{ code: number; out: string }> {
  const env = { ...process.env, NOTARY_ROOT_PASSPHRASE: 'r00t-pass', NOTARY_TARGETS_PASSPHRASE: 'targets-pass', NOTARY_SNAPSHOT_PASSPHRASE: 'snap-pass', NOTARY_DELEGATION_PASSPHRASE: 'del-pass' };
  return new Promise((resolve) => {
    // Async on purpose: the server under test runs in this process.
    execFile('notary', ['-s', url, '-d', path.join(dir, 'trust'), ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: stdout + stderr });
    });
  });
}

const cached = (role: string): Buffer => fs.readFileSync(path.join(dir, 'trust', 'tuf', GUN, 'metadata', `${role}.json`));

before(async () => {
  if (!haveNotary) return;
  t = await makeApp();
  dir = tempDir();
  fs.writeFileSync(path.join(dir, 'payload.txt'), 'hello from signet\n');
  server = http.createServer(t.app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  if (!haveNotary) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the notary 0.7 CLI', { skip: haveNotary ? false : 'notary binary not installed' }, () => {
  test('init, publish and list', async () => {
    const init = await notary('init', '-p', GUN);
    assert.equal(init.code, 0, init.out);
    const add = await notary('add', '-p', GUN, 'v1', path.join(dir, 'payload.txt'));
    assert.equal(add.code, 0, add.out);
    const list = await notary('list', GUN);
    assert.equal(list.code, 0, list.out);
    assert.match(list.out, /^v1\s+[0-9a-f]{64}\s+18\s+targets$/m);
  });

  test('a second publish is seen by the next list (the cached timestamp was invalidated)', async () => {
    const add = await notary('add', '-p', GUN, 'v2', path.join(dir, 'payload.txt'));
    assert.equal(add.code, 0, add.out);
    const list = await notary('list', GUN);
    assert.match(list.out, /^v2\s/m);
  });

  test('errors/11: replaying the current targets (with its snapshot, still client-held) is VERSION', async () => {
    const { body: b, contentType } = multipartBody([{ filename: 'targets', data: cached('targets') }, { filename: 'snapshot', data: cached('snapshot') }]);
    const res = await raw(request(t.app.handler).post(`/v2/${GUN}/_trust/tuf/`).set('Content-Type', contentType).send(b));
    assertMatchesCapture(res, 'errors', '11-post-replayed-targets.http');
  });

  test('errors/12: a broken signature is INVALID_UPDATE ErrBadTargets', async () => {
    const targets = cached('targets').toString().replace(/"sig":"[A-Za-z0-9+/]{8}/, '"sig":"AAAAAAAA');
    const { body: b, contentType } = multipartBody([{ filename: 'targets', data: targets }, { filename: 'snapshot', data: cached('snapshot') }]);
    const res = await raw(request(t.app.handler).post(`/v2/${GUN}/_trust/tuf/`).set('Content-Type', contentType).send(b));
    assert.equal(res.status, 400);
    const err = JSON.parse(body(res).toString()).errors[0] as { code: string; detail: { Name: string; Error: { Msg: string } } };
    assert.equal(err.code, 'INVALID_UPDATE');
    assert.equal(err.detail.Name, 'ErrBadTargets');
    assert.ok(err.detail.Error.Msg.length > 0);
  });

  test('errors/13: a new GUN without root is ErrValidation', async () => {
    const { body: b, contentType } = multipartBody([{ filename: 'targets', data: cached('targets') }]);
    const res = await raw(request(t.app.handler).post('/v2/example.com/empty/_trust/tuf/').set('Content-Type', contentType).send(b));
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /^\{"errors":\[\{"code":"INVALID_UPDATE","message":"Update sent by the client is invalid.","detail":\{"Name":"ErrValidation","Error":\{"Msg":"[^"]+"\}\}\}\]\}\n$/);
  });

  test('errors/14: a root version jump is ErrBadRoot', async () => {
    const root = cached('root').toString().replace(/"version":1\}/, '"version":5}');
    const { body: b, contentType } = multipartBody([{ filename: 'root', data: root }]);
    const res = await raw(request(t.app.handler).post(`/v2/${GUN}/_trust/tuf/`).set('Content-Type', contentType).send(b));
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /"detail":\{"Name":"ErrBadRoot","Error":\{"Msg":"[^"]+"\}\}/);
  });

  test('snapshot key moved to the server (POST snapshot.key, root-only publish), then publish without a snapshot part', async () => {
    const rotate = await notary('key', 'rotate', GUN, 'snapshot', '-r');
    assert.equal(rotate.code, 0, rotate.out);
    const add = await notary('add', '-p', GUN, 'v3', path.join(dir, 'payload.txt'));
    assert.equal(add.code, 0, add.out);
    const list = await notary('list', GUN);
    assert.match(list.out, /^v3\s/m);
  });

  test('delete --remote, then the GUN is gone', async () => {
    const del = await notary('delete', GUN, '--remote');
    assert.equal(del.code, 0, del.out);
    const list = await notary('list', GUN);
    assert.notEqual(list.code, 0);
    assert.match(list.out, /does not have trust data for example.com\/cli/);
  });
});

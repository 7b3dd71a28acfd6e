// SPDX-License-Identifier: Apache-2.0
// Publishes to one GUN that overlap in time are applied one after another
// (handlers/update.ts): each sees the previous one committed, so a burst of
// in-order versions from several connections all land instead of all but one
// failing with VERSION (what notary answers when two publishes race).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { BenchGun, fetchTimestampKey, getBytes, postPublish, tufPath, type PublishBody } from '../../../bench/server-repo.js';
import { makeApp, type TestApp } from './harness.js';

const GUN = 'example.com/queue';

/** Raw POSTs on connections opened beforehand, written `gapMs` apart so they arrive in order but overlap. */
async function staggeredPosts(port: number, bodies: readonly PublishBody[], gapMs: number): Promise<number[]> {
  const sockets = await Promise.all(
    bodies.map(
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
  const statuses = sockets.map(
    (s) =>
      new Promise<number>((resolve, reject) => {
        let head = '';
        s.on('data', (chunk: Buffer) => {
          head += chunk.toString('latin1');
          const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
          if (m !== null) {
            resolve(Number(m[1]));
            s.destroy();
          }
        });
        s.once('error', reject);
      }),
  );
  for (const [i, b] of bodies.entries()) {
    const s = sockets[i]!;
    s.write(`POST ${tufPath(GUN, '')} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${b.contentType}\r\nContent-Length: ${b.body.length}\r\nConnection: close\r\n\r\n`);
    s.write(b.body);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return Promise.all(statuses);
}

describe('publishes to one GUN', () => {
  let t: TestApp;
  let server: http.Server;
  let url: string;
  let port: number;

  before(async () => {
    t = await makeApp();
    server = http.createServer(t.app.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await t.close();
  });

  test('overlapping publishes of successive versions all commit, in order', async () => {
    const g = await BenchGun.create(GUN);
    const init = await g.initialPublish(await fetchTimestampKey(url, GUN));
    await postPublish(url, GUN, init.body);
    const bodies = await g.publishSequence(init.root, 2, 5); // targets + snapshot versions 2..6

    const statuses = await staggeredPosts(port, bodies, 2);

    assert.deepEqual(statuses, [200, 200, 200, 200, 200], 'a publish lost a race it should have waited for');
    assert.deepEqual(await getBytes(url, tufPath(GUN, 'targets.json')), await g.targetsVersion(6));
    const ts = JSON.parse((await getBytes(url, tufPath(GUN, 'timestamp.json'))).toString('utf8')) as { signed: { version: number } };
    assert.equal(ts.signed.version, 6, 'one timestamp per publish');
  });

  test('a stale version still fails with VERSION after waiting its turn', async () => {
    const g = await BenchGun.create('example.com/queue-stale');
    const gun = 'example.com/queue-stale';
    const init = await g.initialPublish(await fetchTimestampKey(url, gun));
    await postPublish(url, gun, init.body);
    const [v2] = await g.publishSequence(init.root, 2, 1);
    await postPublish(url, gun, v2!);
    const res = await fetch(url + tufPath(gun, ''), { method: 'POST', headers: { 'Content-Type': v2!.contentType }, body: v2!.body });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /"code":"VERSION"/);
  });
});

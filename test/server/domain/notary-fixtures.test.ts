// SPDX-License-Identifier: Apache-2.0
// What the real notary 0.7 client sent and what notary-server answered
// (../shared/reference/fixtures): Signet's validation accepts notary's uploads
// up to the step that needs the fixture server's own keys, and refuses the
// error captures with the same notary error names.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { MetaUpdate } from '../../../server/storage/meta-store.js';
import { fixture, FIXTURE_NOW } from '../../support/paths.js';
import { Clock, assertRefused, openEmbeddedStore, part, testService, type TestStore } from './support.js';

const GUN = 'example.com/app';
const read = (...p: string[]): Buffer => fs.readFileSync(fixture(...p));

/** The parts of a recorded multipart POST: filename -> exact body bytes. */
function multipartParts(request: Buffer): Map<string, Buffer> {
  const head = request.subarray(0, request.indexOf('\r\n\r\n')).toString('latin1');
  const boundary = /boundary=([^\s;]+)/.exec(head)![1]!;
  const body = request.subarray(request.indexOf('\r\n\r\n') + 4);
  const parts = new Map<string, Buffer>();
  let at = body.indexOf(`--${boundary}`);
  while (at !== -1) {
    const start = at + boundary.length + 4; // "--" + boundary + CRLF
    const next = body.indexOf(`\r\n--${boundary}`, start);
    if (next === -1) break;
    const chunk = body.subarray(start, next);
    const split = chunk.indexOf('\r\n\r\n');
    const name = /filename="([^"]*)"/.exec(chunk.subarray(0, split).toString('latin1'))?.[1];
    if (name !== undefined) parts.set(name, chunk.subarray(split + 4));
    at = next + 2;
  }
  return parts;
}

function request(name: string): Buffer {
  const file = fs.readdirSync(fixture('http')).find((f) => f.startsWith(name) && f.endsWith('.request'));
  return read('http', file!);
}

describe('notary 0.7 fixtures through Signet validation', () => {
  let ts: TestStore;
  const clock = new Clock(FIXTURE_NOW);
  let service: ReturnType<typeof testService>;
  before(async () => {
    ts = await openEmbeddedStore('fixtures');
    service = testService(ts.store, clock);
  });
  after(() => ts.close());

  /** The fixture server's final state, stored as it was (these files passed notary-server). */
  async function loadFixtureState(): Promise<void> {
    await ts.store.deleteGun(GUN);
    const files: MetaUpdate[] = [
      { role: 'root', version: 1, data: read('server', '1.root.json') },
      { role: 'root', version: 2, data: read('server', '2.root.json') },
      { role: 'targets', version: 4, data: read('server', 'targets.json') },
      { role: 'targets/releases', version: 1, data: read('server', 'targets', 'releases.json') },
      { role: 'targets/jenkins', version: 1, data: read('server', 'targets', 'jenkins.json') },
      { role: 'snapshot', version: 7, data: read('server', 'snapshot.json') },
      { role: 'timestamp', version: 6, data: read('server', 'timestamp.json') },
    ];
    await ts.store.updateMany(GUN, files.slice(0, 1));
    await ts.store.updateMany(GUN, files.slice(1));
  }

  it('accepts the CLI\'s first publish (root, targets, snapshot) up to the timestamp, which needs the fixture server\'s key', async () => {
    await ts.store.deleteGun(GUN);
    const parts = multipartParts(request('005-POST'));
    assert.deepEqual([...parts.keys()].sort(), ['root', 'snapshot', 'targets']);
    await assertRefused(
      service.applyUpdate(GUN, [...parts].map(([role, data]) => part(role, data))),
      'ErrBadRoot',
      'SERVER_KEY_MISSING',
      /no timestamp keys exist on the server/,
    );
  });

  it('accepts the delegates\' publishes (ecdsa-x509 and rsa-x509 rsapss) up to the snapshot, which needs the fixture server\'s key', async () => {
    await loadFixtureState();
    for (const exchange of ['038-POST', '044-POST']) {
      const parts = multipartParts(request(exchange));
      const e = await assertRefused(service.applyUpdate(GUN, [...parts].map(([role, data]) => part(role, data))), 'ErrBadHierarchy', 'SERVER_KEY_MISSING');
      assert.equal(e.missing, 'snapshot');
    }
  });

  it('errors/12: targets with a damaged signature -> ErrBadTargets', async () => {
    await loadFixtureState();
    const t = read('server', 'targets.json').toString('utf8');
    const damaged = t.replace(/"sig":"(.{8})/, (_m, first: string) => `"sig":"${first === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA'}`);
    await assertRefused(service.applyUpdate(GUN, [part('targets', Buffer.from(damaged))]), 'ErrBadTargets', 'THRESHOLD_NOT_MET');
  });

  it('errors/13: targets only, to a GUN without root -> ErrValidation', async () => {
    await assertRefused(service.applyUpdate('example.com/scratch', [part('targets', read('server', 'targets.json'))]), 'ErrValidation', 'NO_ROOT');
  });

  it('errors/14: root version edited 2 -> 5 -> ErrBadRoot, "Current 2, new 5"', async () => {
    await loadFixtureState();
    const edited = Buffer.from(read('server', 'root.json').toString('utf8').replace('"version":2', '"version":5'));
    await assertRefused(service.applyUpdate(GUN, [part('root', edited)]), 'ErrBadRoot', 'VERSION_JUMP', /current 2, new 5/);
  });

  it('errors/21: the snapshot signed by the retired client key -> ErrBadSnapshot', async () => {
    await loadFixtureState();
    const old = read('trust_dir', 'owner-after-init', 'tuf', 'example.com', 'app', 'metadata', 'snapshot.json');
    await assertRefused(service.applyUpdate(GUN, [part('snapshot', old)]), 'ErrBadSnapshot', 'THRESHOLD_NOT_MET');
  });

  it('errors/22: root version edited 2 -> 3 with the old signature kept -> ErrBadRoot "could not rotate trust"', async () => {
    await loadFixtureState();
    const edited = Buffer.from(read('server', 'root.json').toString('utf8').replace('"version":2', '"version":3'));
    await assertRefused(service.applyUpdate(GUN, [part('root', edited)]), 'ErrBadRoot', 'THRESHOLD_NOT_MET', /could not rotate trust/);
  });

  it('serves the fixture timestamp as is while it is valid, and cannot re-sign it without the key', async () => {
    await loadFixtureState();
    assert.deepEqual((await service.getCurrent(GUN, 'timestamp'))!.data, read('server', 'timestamp.json'));
    assert.deepEqual((await service.getCurrent(GUN, 'snapshot'))!.data, read('server', 'snapshot.json'));
    const later = testService(ts.store, new Clock(new Date('2026-12-10T00:00:00Z')));
    assert.deepEqual((await later.getCurrent(GUN, 'timestamp'))!.data, read('server', 'timestamp.json'));
  });
});

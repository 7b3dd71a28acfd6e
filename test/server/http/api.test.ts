// SPDX-License-Identifier: Apache-2.0
// Every read route of notary-server's API against the real trust service and
// an embedded store seeded with the fixture repository (notary 0.7's own
// files), compared with notary's captures where the answer is deterministic.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { fixture } from '../../support/paths.js';
import { makeApp, readCapture, type TestApp } from './harness.js';
import { assertMatchesCapture, body, raw } from './capture-assert.js';

const GUN = 'example.com/app';
const S = `/v2/${GUN}/_trust/tuf`;
const file = (name: string): Buffer => fs.readFileSync(fixture('server', name));
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const RFC1123_UTC = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} UTC$/;

let t: TestApp;
const get = (path: string): request.Test => raw(request(t.app.handler).get(path));

before(async () => {
  t = await makeApp();
  await t.store.updateMany(GUN, [{ role: 'root', version: 1, data: file('1.root.json') }]);
  await t.store.updateMany(GUN, [
    { role: 'root', version: 2, data: file('2.root.json') },
    { role: 'targets', version: 4, data: file('targets.json') },
    { role: 'targets/releases', version: 1, data: file('targets/releases.json') },
    { role: 'targets/jenkins', version: 1, data: file('targets/jenkins.json') },
    { role: 'snapshot', version: 7, data: file('snapshot.json') },
    { role: 'timestamp', version: 6, data: file('timestamp.json') },
  ]);
});
after(async () => t.close());

describe('GET /v2/', () => {
  test('answers {} as text/plain, like notary (http/001)', async () => {
    const res = await get('/v2/');
    const cap = readCapture(fixture('http', '001-GET-.response'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], cap.headers.get('content-type'));
    assert.ok(body(res).equals(cap.body));
  });
});

describe('current metadata', () => {
  const current: [string, string, string][] = [
    ['root.json', 'root.json', 'root.json.headers'],
    ['targets.json', 'targets.json', 'targets.json.headers'],
    ['targets/releases.json', 'targets/releases.json', 'targets_releases.json.headers'],
    ['targets/jenkins.json', 'targets/jenkins.json', 'targets_jenkins.json.headers'],
    ['snapshot.json', 'snapshot.json', 'snapshot.json.headers'],
    ['timestamp.json', 'timestamp.json', 'timestamp.json.headers'],
  ];
  for (const [path, bytes, headers] of current) {
    test(`${path}: stored bytes, notary's Cache-Control and Content-Type, Last-Modified ending in UTC`, async () => {
      const res = await get(`${S}/${path}`);
      const cap = readCapture(fixture('server', 'headers', headers));
      assert.equal(res.status, 200);
      assert.ok(body(res).equals(file(bytes)), 'bytes as stored');
      assert.equal(res.headers['cache-control'], cap.headers.get('cache-control'));
      assert.equal(res.headers['content-type'], cap.headers.get('content-type'));
      assert.match(String(res.headers['last-modified']), RFC1123_UTC);
      assert.equal(res.headers.etag, undefined, 'notary sends no ETag');
    });
  }

  test('a second read is served from the cache and is identical', async () => {
    const first = await get(`${S}/timestamp.json`);
    const before = await t.app.metrics.registry.getSingleMetricAsString('signet_metadata_cache_lookups_total');
    const second = await get(`${S}/timestamp.json`);
    const afterText = await t.app.metrics.registry.getSingleMetricAsString('signet_metadata_cache_lookups_total');
    assert.ok(body(first).equals(body(second)));
    assert.equal(first.headers['last-modified'], second.headers['last-modified']);
    const hits = (s: string): number => Number(/cache="current",result="hit"} (\d+)/.exec(s)?.[1] ?? 0);
    assert.equal(hits(afterText), hits(before) + 1);
  });
});

describe('consistent metadata', () => {
  test('by version, with notary 30-day Cache-Control (1.root.json, 2.root.json)', async () => {
    for (const v of ['1', '2']) {
      const res = await get(`${S}/${v}.root.json`);
      const cap = readCapture(fixture('server', 'headers', `${v}.root.json.headers`));
      assert.equal(res.status, 200);
      assert.ok(body(res).equals(file(`${v}.root.json`)));
      assert.equal(res.headers['cache-control'], cap.headers.get('cache-control'));
      assert.equal(res.headers['content-type'], cap.headers.get('content-type'));
      assert.match(String(res.headers['last-modified']), RFC1123_UTC);
    }
  });
  test('by version accepts leading zeros', async () => {
    const res = await get(`${S}/0002.root.json`);
    assert.equal(res.status, 200);
    assert.ok(body(res).equals(file('2.root.json')));
  });
  test('by version beyond int64: notary strconv.Atoi error as detail', async () => {
    const res = await get(`${S}/99999999999999999999.root.json`);
    assert.equal(res.status, 404);
    assert.equal(
      body(res).toString(),
      '{"errors":[{"code":"METADATA_NOT_FOUND","message":"You have requested metadata that does not exist.","detail":{"Func":"Atoi","Num":"99999999999999999999","Err":{}}}]}\n',
    );
  });
  test('by lower-case sha256 (snapshot.SHA256.json)', async () => {
    const snap = file('snapshot.json');
    const res = await get(`${S}/snapshot.${sha256(snap)}.json`);
    const cap = readCapture(fixture('server', 'headers', 'snapshot.SHA256.json.headers'));
    assert.equal(res.status, 200);
    assert.ok(body(res).equals(file('snapshot.by-checksum.json')));
    assert.equal(res.headers['cache-control'], cap.headers.get('cache-control'));
    const again = await get(`${S}/snapshot.${sha256(snap)}.json`);
    assert.ok(body(again).equals(snap), 'cached copy is the same');
  });
  test('upper-case hex and sha512 match the route but are not found, as in notary', async () => {
    const snap = file('snapshot.json');
    const upper = await get(`${S}/snapshot.${sha256(snap).toUpperCase()}.json`);
    assert.equal(upper.status, 404);
    const sha512 = createHash('sha512').update(snap).digest('hex');
    const long = await get(`${S}/snapshot.${sha512}.json`);
    assert.equal(long.status, 404);
    assert.match(body(long).toString(), /"detail":\{\}/);
  });
  test('a checksum of another role is not found under this role', async () => {
    const res = await get(`${S}/root.${sha256(file('targets.json'))}.json`);
    assert.equal(res.status, 404);
  });
});

describe('notary error captures (errors/*.http)', () => {
  const cases: [string, string, string][] = [
    ['01-get-missing-role.http', 'GET', `${S}/targets/nope.json`],
    ['02-get-unknown-gun.http', 'GET', '/v2/example.com/never-initialized/_trust/tuf/root.json'],
    ['03-get-unknown-version.http', 'GET', `${S}/99.root.json`],
    ['04-get-unknown-checksum.http', 'GET', `${S}/root.${'0'.repeat(64)}.json`],
    ['05-unrouted-path.http', 'GET', `/v2/${GUN}/_trust/whatever`],
    ['15-changefeed-missing-records.http', 'GET', '/v2/_trust/changefeed'],
    ['16-changefeed-bad-change-id.http', 'GET', '/v2/_trust/changefeed?records=10&change_id=abc'],
    ['17-get-key-unsupported-role.http', 'GET', `${S}/targets.key`],
    ['18-method-not-allowed.http', 'PATCH', `${S}/root.json`],
  ];
  for (const [capture, method, path] of cases) {
    test(`${capture}: same status line, Content-Type and body`, async () => {
      const res = await raw(request(t.app.handler)[method.toLowerCase() as 'get' | 'patch'](path));
      assertMatchesCapture(res, 'errors', capture);
    });
  }
  test('HEAD on metadata is the catch-all 404 (no body)', async () => {
    const res = await request(t.app.handler).head(`${S}/root.json`);
    assert.equal(res.status, 404);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  });
  test('PUT anywhere is the catch-all METADATA_NOT_FOUND without detail', async () => {
    const res = await raw(request(t.app.handler).put('/anything'));
    assert.equal(body(res).toString(), '{"errors":[{"code":"METADATA_NOT_FOUND","message":"You have requested metadata that does not exist."}]}\n');
  });
  test('OPTIONS is 405 with an empty body', async () => {
    const res = await raw(request(t.app.handler).options('/v2/'));
    assert.equal(res.status, 405);
    assert.equal(body(res).length, 0);
    assert.equal(res.headers['content-type'], undefined);
  });
});

describe('paths', () => {
  test('an unclean path is redirected with 301 as gorilla/mux does', async () => {
    const res = await request(t.app.handler).get(`/v2//${GUN}/_trust/tuf/./root.json?x=1`).redirects(0);
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, `/v2/${GUN}/_trust/tuf/root.json?x=1`);
  });
  test('a bad percent escape is 400 before routing', async () => {
    const res = await raw(request(t.app.handler).get('/v2/a%zz/_trust/tuf/root.json'));
    assert.equal(res.status, 400);
  });
  test('an escaped slash in the GUN is decoded before matching', async () => {
    const res = await get(`/v2/example.com%2Fapp/_trust/tuf/root.json`);
    assert.equal(res.status, 200);
    assert.ok(body(res).equals(file('root.json')));
  });
});

describe('server keys', () => {
  test('GET timestamp.key: the Go-marshalled public key, text/plain, no cache headers; stable across calls', async () => {
    const a = await get(`/v2/example.com/keys/_trust/tuf/timestamp.key`);
    const cap = readCapture(fixture('server', 'headers', 'timestamp.key.headers'));
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], cap.headers.get('content-type'));
    assert.equal(a.headers['cache-control'], undefined);
    assert.match(body(a).toString(), /^\{"keytype":"ed25519","keyval":\{"public":"[A-Za-z0-9+/]{43}=","private":null\}\}$/);
    const b = await get(`/v2/example.com/keys/_trust/tuf/timestamp.key`);
    assert.ok(body(a).equals(body(b)));
  });
  test('POST snapshot.key makes a new key each time', async () => {
    const a = await raw(request(t.app.handler).post('/v2/example.com/keys/_trust/tuf/snapshot.key'));
    const b = await raw(request(t.app.handler).post('/v2/example.com/keys/_trust/tuf/snapshot.key'));
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.notDeepEqual(body(a), body(b));
  });
});

describe('changefeed', () => {
  test('global feed: ID is a string, SHA256 the timestamp hash, Version its version, no trailing newline', async () => {
    const res = await get('/v2/_trust/changefeed?records=10&change_id=0');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    const text = body(res).toString();
    assert.ok(!text.endsWith('\n'));
    const feed = JSON.parse(text) as { count: number; records: { ID: string; CreatedAt: string; GUN: string; Version: number; SHA256: string; Category: string }[] };
    const mine = feed.records.filter((r) => r.GUN === GUN);
    assert.equal(feed.count, feed.records.length);
    assert.equal(mine.length, 1);
    const rec = mine[0]!;
    assert.equal(typeof rec.ID, 'string');
    assert.deepEqual(Object.keys(rec), ['ID', 'CreatedAt', 'GUN', 'Version', 'SHA256', 'Category']);
    // notary's own feed for this timestamp (changefeed-after-delete.json, record 6)
    assert.equal(rec.Version, 6);
    assert.equal(rec.SHA256, '4bbb010b82cc6c1eb53610f7a890d151b8462d4ab813ea477f7bfbcc186cde19');
    assert.equal(rec.Category, 'update');
    assert.match(rec.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
  });
  test('per-GUN feed filters by exact GUN; an empty feed has "records":null', async () => {
    const res = await get('/v2/example.com/ap/_trust/changefeed?records=5');
    assert.equal(body(res).toString(), '{"count":0,"records":null}');
  });
  test('records=0 means 100; negative records walk back from change_id=-1', async () => {
    assert.equal(JSON.parse(body(await get('/v2/_trust/changefeed?records=0')).toString()).count >= 1, true);
    const back = JSON.parse(body(await get(`/v2/${GUN}/_trust/changefeed?change_id=-1&records=-1`)).toString()) as { count: number };
    assert.equal(back.count, 1);
  });
  test('records out of int32 range: Go range error text', async () => {
    const res = await get('/v2/_trust/changefeed?records=99999999999');
    assert.equal(res.status, 400);
    assert.match(body(res).toString(), /"detail":"invalid records parameter: strconv.ParseInt: parsing \\"99999999999\\": value out of range"/);
  });
});

describe('DELETE', () => {
  test('deletes the GUN (errors/19, 20), records a deletion, and the cache forgets it', async () => {
    const g = '/v2/example.com/app/_trust/tuf';
    assert.equal((await get(`${g}/root.json`)).status, 200);
    assert.equal((await get(`${g}/1.root.json`)).status, 200); // now cached
    const keyBefore = body(await get(`${g}/timestamp.key`)).toString();
    const del = await raw(request(t.app.handler).delete(`${g}/`));
    assertMatchesCapture(del, 'errors', '19-delete-repo.http');
    assertMatchesCapture(await get(`${g}/root.json`), 'errors', '20-get-after-delete.http');
    assert.equal((await get(`${g}/1.root.json`)).status, 404, 'consistent copies are gone too');
    const feed = JSON.parse(body(await get(`/v2/${GUN}/_trust/changefeed?change_id=-1&records=1`)).toString()) as { records: { Version: number; SHA256: string; Category: string }[] };
    assert.deepEqual(feed.records.map((r) => [r.Category, r.Version, r.SHA256]), [['deletion', 0, '']]);
    const again = await raw(request(t.app.handler).delete(`${g}/`));
    assert.equal(again.status, 200, 'deleting nothing is fine');
    // SECURITY: the GUN created again gets a new timestamp key, so its deleted incarnation's timestamps never verify
    const keyAfter = await get(`${g}/timestamp.key`);
    assert.equal(keyAfter.status, 200);
    assert.notEqual(body(keyAfter).toString(), keyBefore);
  });
});

describe('health and metrics', () => {
  test('health is {} with the JSON content type', async () => {
    const res = await get('/_notary_server/health');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.ok(body(res).equals(fs.readFileSync(fixture('server', 'health.json'))));
  });
  test('metrics count requests by route family and status, never by GUN', async () => {
    const res = await get('/metrics');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0.0.4/);
    const text = body(res).toString();
    assert.match(text, /signet_http_requests_total\{operation="GetRole",method="GET",status="200"\} \d+/);
    assert.match(text, /signet_http_requests_total\{operation="NotFound",method="PUT",status="404"\} 1/);
    assert.match(text, /signet_http_request_duration_seconds_bucket\{le="0.005",operation="GetRole",method="GET"\}/);
    assert.doesNotMatch(text, /example\.com/);
  });
});

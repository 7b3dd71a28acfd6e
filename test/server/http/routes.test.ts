// SPDX-License-Identifier: Apache-2.0
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cleanPath, decodePath, escapePath, matchRoute, queryGet } from '../../../server/http/routes.js';

const H64 = 'ab'.repeat(32);

function op(method: string, path: string): string | number {
  const m = matchRoute(method, path);
  return typeof m === 'number' ? m : m.route.operation;
}

describe('matchRoute (notary server.go order, gorilla semantics)', () => {
  const table: [string, string, string | number][] = [
    ['GET', '/v2/', 'Main'],
    ['POST', '/v2/example.com/app/_trust/tuf/', 'UpdateTUF'],
    ['DELETE', '/v2/example.com/app/_trust/tuf/', 'DeleteTUF'],
    ['GET', `/v2/example.com/app/_trust/tuf/root.${H64}.json`, 'GetRoleByHash'],
    ['GET', `/v2/example.com/app/_trust/tuf/root.${H64.toUpperCase()}.json`, 'GetRoleByHash'],
    ['GET', `/v2/example.com/app/_trust/tuf/snapshot.${'c'.repeat(96)}.json`, 'GetRoleByHash'],
    ['GET', `/v2/example.com/app/_trust/tuf/targets/releases.${'d'.repeat(128)}.json`, 'GetRoleByHash'],
    ['GET', '/v2/example.com/app/_trust/tuf/2.root.json', 'GetRoleByVersion'],
    ['GET', '/v2/example.com/app/_trust/tuf/0100.targets.json', 'GetRoleByVersion'],
    ['GET', '/v2/example.com/app/_trust/tuf/3.targets/a/b.json', 'GetRoleByVersion'],
    ['GET', '/v2/example.com/app/_trust/tuf/targets/a/b.json', 'GetRole'],
    ['GET', '/v2/example.com/app/_trust/tuf/timestamp.json', 'GetRole'],
    ['GET', '/v2/example.com/app/_trust/tuf/timestamp.key', 'GetKey'],
    ['POST', '/v2/example.com/app/_trust/tuf/snapshot.key', 'RotateKey'],
    ['GET', '/v2/example.com/app/_trust/tuf/targets.key', 'NotFound'],
    ['GET', '/v2/example.com/app/_trust/changefeed', 'Changefeed'],
    ['GET', '/v2/_trust/changefeed', 'GlobalChangefeed'],
    ['GET', '/_notary_server/health', 'Health'],
    ['GET', '/metrics', 'Metrics'],
    ['HEAD', '/v2/example.com/app/_trust/tuf/root.json', 'NotFound'],
    ['HEAD', '/v2/', 'NotFound'],
    ['GET', '/v2', 'NotFound'],
    ['PUT', '/v2/example.com/app/_trust/tuf/', 'NotFound'],
    ['POST', '/_notary_server/health', 'NotFound'],
    ['GET', '/v2/a*b/_trust/tuf/root.json', 'NotFound'],
    ['GET', `/v2/example.com/app/_trust/tuf/root.${'a'.repeat(63)}.json`, 'NotFound'],
    ['GET', '/v2/example.com/app/_trust/tuf/targets/Has Space.json', 'NotFound'],
    ['PATCH', '/v2/example.com/app/_trust/tuf/root.json', 405],
    ['OPTIONS', '/', 405],
    // Go's `.` stops at "\n": no route matches, so mux's plain 404.
    ['GET', '/v2/x\ny', 404],
    ['PATCH', '/x\ny', 404],
  ];
  for (const [method, path, want] of table) {
    test(`${method} ${JSON.stringify(path).slice(0, 70)} -> ${want}`, () => assert.equal(op(method, path), want));
  }

  test('GUNs keep their slashes and the role its delegation path', () => {
    const m = matchRoute('GET', '/v2/docker.io/library/alpine/_trust/tuf/targets/releases.json');
    assert.ok(typeof m === 'object');
    assert.equal(m.gun, 'docker.io/library/alpine');
    assert.equal(m.role, 'targets/releases');
  });
  test('by-version and by-checksum captures', () => {
    const v = matchRoute('GET', '/v2/g/_trust/tuf/0100.targets.json');
    assert.ok(typeof v === 'object');
    assert.deepEqual([v.gun, v.role, v.version], ['g', 'targets', '0100']);
    const c = matchRoute('GET', `/v2/g/_trust/tuf/snapshot.${H64}.json`);
    assert.ok(typeof c === 'object');
    assert.deepEqual([c.gun, c.role, c.checksum], ['g', 'snapshot', H64]);
  });
  test('a greedy GUN takes the longest prefix that still matches, as RE2 leftmost-first does', () => {
    const m = matchRoute('GET', '/v2/a/_trust/tuf/b/_trust/tuf/root.json');
    assert.ok(typeof m === 'object');
    assert.equal(m.gun, 'a/_trust/tuf/b');
  });
  test('every path is routed for the five catch-all methods', () => {
    fc.assert(
      fc.property(fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'DELETE'), fc.string(), (method, s) => {
        const path = '/' + s.replace(/\n/g, '');
        assert.equal(typeof matchRoute(method, path), 'object');
      }),
      { numRuns: 200 },
    );
  });
});

describe('path and query handling', () => {
  test('cleanPath is Go path.Clean keeping a trailing slash', () => {
    assert.equal(cleanPath('/v2//a/./b/../c/'), '/v2/a/c/');
    assert.equal(cleanPath('/v2/'), '/v2/');
    assert.equal(cleanPath('/../x'), '/x');
    assert.equal(cleanPath(''), '/');
  });
  test('decodePath decodes %2F and rejects bad escapes', () => {
    assert.equal(decodePath('/v2/a%2Fb/_trust'), '/v2/a/b/_trust');
    assert.equal(decodePath('/%C3%A9'), '/é');
    assert.equal(decodePath('/bad%zz'), null);
    assert.equal(decodePath('/bad%2'), null);
  });
  test('escapePath leaves path characters and escapes the rest', () => {
    assert.equal(escapePath('/v2/a b?/é'), '/v2/a%20b%3F/%C3%A9');
  });
  test('queryGet follows Go url.ParseQuery', () => {
    assert.equal(queryGet('records=10&change_id=abc', 'change_id'), 'abc');
    assert.equal(queryGet('records=1&records=2', 'records'), '1');
    assert.equal(queryGet('records', 'records'), '');
    assert.equal(queryGet('a=1', 'records'), undefined);
    assert.equal(queryGet('records=%2B5', 'records'), '+5');
    assert.equal(queryGet('records=1;x=2&records=3', 'records'), '3');
    assert.equal(queryGet('records=%zz&records=4', 'records'), '4');
  });
});

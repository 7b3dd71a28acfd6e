// SPDX-License-Identifier: Apache-2.0
// htpasswd basic auth: accepted hash formats, refused ones with a message
// that says how to fix the file, and, through the app, that any
// authenticated user may pull, push and delete while others get a Basic
// challenge and notary's UNAUTHORIZED body.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import request from 'supertest';
import { ConfigError } from '../../../shared/errors.js';
import { createHtpasswdAuthorizer, dummyEntry, parseHtpasswd } from '../../../server/auth/htpasswd.js';
import { makeApp, type TestApp } from '../http/harness.js';
import { body, raw } from '../http/capture-assert.js';

const sha = (p: string): string => '{SHA}' + createHash('sha1').update(p).digest('base64');
// bcrypt cost 4 keeps the test quick; `htpasswd -B` writes $2y$.
const y = bcrypt.hashSync('alice-pw', 4).replace(/^\$2b\$/, '$2y$');
const a = bcrypt.hashSync('bob-pw', 4).replace(/^\$2b\$/, '$2a$');
const FILE = `# users\nalice:${y}\nbob:${a}\n\ncarol:${sha('carol-pw')}\n`;

const basic = (user: string, pw: string): string => 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64');

describe('parseHtpasswd', () => {
  test('reads bcrypt ($2y$, $2a$, $2b$) and {SHA} entries, skipping comments and blank lines', () => {
    const entries = parseHtpasswd(FILE + `dave:${bcrypt.hashSync('x', 4)}\n`, 'users.htpasswd');
    assert.deepEqual([...entries.keys()], ['alice', 'bob', 'carol', 'dave']);
  });
  const refused: Record<string, [string, RegExp]> = {
    'apr1-MD5': ['eve:$apr1$abcdefgh$0123456789abcdefghijkl', /line 1 \(user "eve"\): apr1-MD5 hashes are not supported; re-create the entry with bcrypt: htpasswd -B users.htpasswd eve/],
    'crypt DES': ['eve:abJnggxhB/yWI', /crypt\(3\) DES hashes are not supported/],
    'crypt SHA-512': ['eve:$6$salt$hash', /crypt\(3\) MD5\/SHA hashes are not supported/],
    'plain text': ['eve:secret-password', /unrecognised password hash/],
    'no colon': ['eve', /is not "user:hash"/],
    'bad {SHA}': ['eve:{SHA}abc', /\{SHA\} hash is not 20 bytes/],
  };
  for (const [name, [line, message]] of Object.entries(refused)) {
    test(`refuses ${name} at startup`, () => {
      assert.throws(() => parseHtpasswd(line, 'users.htpasswd'), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }
  test('refuses a file without users', () => {
    assert.throws(() => parseHtpasswd('# nobody\n', 'users.htpasswd'), /has no users/);
  });
  test('error messages never contain the hash', () => {
    try {
      parseHtpasswd('eve:$apr1$abcdefgh$0123456789abcdefghijkl', 'f');
      assert.fail('should throw');
    } catch (err) {
      assert.doesNotMatch((err as Error).message, /0123456789/);
    }
  });
});

describe('Basic auth', () => {
  const need = [{ type: 'repository', name: 'example.com/x', action: 'pull' }];
  const az = createHtpasswdAuthorizer({ text: FILE, source: 'f', realm: 'signet-server' });
  test('each hash format verifies its own password and no other', async () => {
    for (const [user, pw] of [['alice', 'alice-pw'], ['bob', 'bob-pw'], ['carol', 'carol-pw']] as const) {
      const ok = await az.authorize({ authorization: basic(user, pw), host: undefined }, need);
      assert.deepEqual(ok, { ok: true, user });
      assert.equal((await az.authorize({ authorization: basic(user, pw + 'x'), host: undefined }, need)).ok, false);
    }
  });
  test('unknown user, no header, a Bearer header, malformed base64 are all refused with a Basic challenge', async () => {
    for (const authorization of [basic('mallory', 'alice-pw'), undefined, 'Bearer abc', 'Basic !!!', 'Basic ' + Buffer.from('nocolon').toString('base64')]) {
      const d = await az.authorize({ authorization, host: undefined }, need);
      assert.ok(!d.ok);
      assert.equal(d.challenge, 'Basic realm="signet-server"');
    }
  });
  test('a remembered success still rejects a different password', async () => {
    assert.ok((await az.authorize({ authorization: basic('alice', 'alice-pw'), host: undefined }, need)).ok);
    assert.ok((await az.authorize({ authorization: basic('alice', 'alice-pw'), host: undefined }, need)).ok);
    assert.equal((await az.authorize({ authorization: basic('alice', 'wrong'), host: undefined }, need)).ok, false);
  });
});

describe('the dummy hash unknown users are checked against', () => {
  const file = (...lines: string[]): string => lines.map((l, i) => `u${i}:${l}`).join('\n');
  const b = (cost: number): string => bcrypt.hashSync('pw', cost);
  const costOf = (text: string): string => {
    const d = dummyEntry(parseHtpasswd(text, 'f'));
    return d.kind === 'bcrypt' ? d.hash.slice(0, 7) : d.kind;
  };
  test('has the most common bcrypt cost of the file', () => {
    assert.equal(costOf(file(b(5), b(4), b(5), sha('x'))), '$2b$05$');
    assert.equal(costOf(file(b(4), b(4), b(6))), '$2b$04$');
  });
  test('a tie goes to the higher cost', () => {
    assert.equal(costOf(file(b(4), b(5))), '$2b$05$');
  });
  test('is a {SHA} check when most users have {SHA} hashes', () => {
    assert.equal(costOf(file(sha('a'), sha('b'), b(4))), 'sha1');
  });
  test('is what the authorizer compares an unknown user against', async () => {
    const seen: string[] = [];
    const compare = bcrypt.compare;
    // bcryptjs's default export is one shared object: record the hashes compared.
    (bcrypt as { compare: unknown }).compare = (pw: string, hash: string): Promise<boolean> => (seen.push(hash), compare(pw, hash));
    try {
      const az = createHtpasswdAuthorizer({ text: file(b(5), b(4), b(5)), source: 'f', realm: 'r' });
      assert.equal((await az.authorize({ authorization: basic('nobody', 'pw'), host: undefined }, [])).ok, false);
    } finally {
      (bcrypt as { compare: unknown }).compare = compare;
    }
    assert.deepEqual(seen.map((h) => h.slice(0, 7)), ['$2b$05$']);
  });
});

describe('through the app', () => {
  let t: TestApp;
  before(async () => {
    t = await makeApp({ authorizer: createHtpasswdAuthorizer({ text: FILE, source: 'f', realm: 'signet-server' }) });
  });
  after(async () => t.close());

  test('GET /v2/ without credentials: 401, Basic challenge, UNAUTHORIZED with the catalog access (the Go CLI then asks for a password)', async () => {
    const res = await raw(request(t.app.handler).get('/v2/'));
    assert.equal(res.status, 401);
    assert.equal(res.headers['www-authenticate'], 'Basic realm="signet-server"');
    assert.equal(body(res).toString(), '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"registry","Class":"","Name":"catalog","Action":"*"}]}]}\n');
  });
  test('any authenticated user may pull, push and delete any GUN', async () => {
    const auth = basic('carol', 'carol-pw');
    assert.equal((await raw(request(t.app.handler).get('/v2/').set('Authorization', auth))).status, 200);
    assert.equal((await raw(request(t.app.handler).get('/v2/example.com/x/_trust/tuf/root.json').set('Authorization', auth))).status, 404);
    const push = await raw(request(t.app.handler).post('/v2/example.com/x/_trust/tuf/').set('Authorization', auth).set('Content-Type', 'text/plain').send('x'));
    assert.match(body(push).toString(), /MALFORMED_UPLOAD/, 'reached the publish handler');
    assert.equal((await raw(request(t.app.handler).delete('/v2/other.org/y/_trust/tuf/').set('Authorization', auth))).status, 200);
  });
  test('a wrong password is 401 and neither password nor header is logged', async () => {
    const res = await raw(request(t.app.handler).get('/v2/').set('Authorization', basic('alice', 'very-secret-guess')));
    assert.equal(res.status, 401);
    const logs = t.logs.join('\n');
    assert.doesNotMatch(logs, /very-secret-guess|alice-pw|carol-pw/);
    assert.ok(!logs.includes(Buffer.from('alice:very-secret-guess').toString('base64')));
  });
});

// SPDX-License-Identifier: Apache-2.0
// Token auth as notary-server does it (notary-wire.md §8), through the real
// app: challenges and bodies compared with notary's captures
// (errors-token-auth/*), scopes per route, and each token check shown to
// matter by a token that fails only that check.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { fixture } from '../../support/paths.js';
import { createTokenAuthorizer, libtrustKeyId } from '../../../server/auth/token.js';
import type { Authorizer } from '../../../server/auth/access.js';
import { makeApp, readCapture, tempDir, type TestApp } from '../http/harness.js';
import { assertMatchesCapture, body, raw } from '../http/capture-assert.js';
import { catalog, makePki, mintToken, repo, type Issuer } from './pki.js';

const REALM = 'https://auth.example.com/token';
const SERVICE = 'notary.example.com';
let dir = '';
let pki: ReturnType<typeof makePki>;
let t: TestApp;

function authorizer(extra: Partial<Parameters<typeof createTokenAuthorizer>[0]> = {}): Authorizer {
  return createTokenAuthorizer({
    realm: REALM,
    service: SERVICE,
    issuer: 'auth.example.com',
    rootCertsPem: pki.root.certPem + pki.direct.certPem,
    rootCertsSource: 'bundle.pem',
    autoRedirect: false,
    ...extra,
  });
}

const viaLeaf = (access: unknown[], extra: Partial<Parameters<typeof mintToken>[1]> = {}): string => mintToken(access, { signer: pki.leaf.key, chain: [pki.leaf.cert, pki.intermediate.cert], ...extra });
const chainOf = (...issuers: Issuer[]): Parameters<typeof mintToken>[1]['chain'] => issuers.map((i) => i.cert);

before(async () => {
  dir = tempDir();
  pki = makePki(dir);
  t = await makeApp({ authorizer: authorizer(), gunPrefixes: ['example.com/'] });
});
after(async () => {
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const get = (p: string, token?: string): request.Test => {
  const r = raw(request(t.app.handler).get(p));
  return token === undefined ? r : r.set('Authorization', `Bearer ${token}`);
};

describe('notary captures (errors-token-auth)', () => {
  const www = (name: string): string | undefined => readCapture(fixture('errors-token-auth', name)).headers.get('www-authenticate');
  test('01: no token for a pull', async () => {
    const res = await get('/v2/example.com/x/_trust/tuf/root.json');
    assertMatchesCapture(res, 'errors-token-auth', '01-no-token-pull.http');
    assert.equal(res.headers['www-authenticate'], www('01-no-token-pull.http'));
  });
  test('02: no token for a publish (push,pull)', async () => {
    const res = await raw(request(t.app.handler).post('/v2/example.com/x/_trust/tuf/').attach('files', Buffer.from('{}'), 'targets'));
    assertMatchesCapture(res, 'errors-token-auth', '02-no-token-push-pull.http');
    assert.equal(res.headers['www-authenticate'], www('02-no-token-push-pull.http'));
  });
  test('03: no token for the global changefeed (catalog)', async () => {
    const res = await get('/v2/_trust/changefeed?records=5');
    assertMatchesCapture(res, 'errors-token-auth', '03-no-token-catalog.http');
    assert.equal(res.headers['www-authenticate'], www('03-no-token-catalog.http'));
  });
  test('04: a pull token on timestamp.key is insufficient_scope', async () => {
    const res = await get('/v2/example.com/x/_trust/tuf/timestamp.key', viaLeaf([repo('example.com/x', 'pull')]));
    assertMatchesCapture(res, 'errors-token-auth', '04-insufficient-scope.http');
    assert.equal(res.headers['www-authenticate'], www('04-insufficient-scope.http'));
  });
  test('05: a token for another audience is invalid_token', async () => {
    const res = await get('/v2/example.com/x/_trust/tuf/root.json', viaLeaf([repo('example.com/x', 'pull')], { claims: { aud: 'wrong-aud' } }));
    assertMatchesCapture(res, 'errors-token-auth', '05-invalid-token.http');
    assert.equal(res.headers['www-authenticate'], www('05-invalid-token.http'));
  });
  test('06: a GUN outside the prefixes on POST is INVALID_GUN, before auth', async () => {
    const res = await raw(request(t.app.handler).post('/v2/other.org/x/_trust/tuf/').attach('files', Buffer.from('{}'), 'targets'));
    assertMatchesCapture(res, 'errors-token-auth', '06-gun-prefix-rejected-post.http');
  });
  test('07: a GUN outside the prefixes elsewhere is METADATA_NOT_FOUND without detail', async () => {
    assertMatchesCapture(await get('/v2/other.org/x/_trust/tuf/root.json'), 'errors-token-auth', '07-gun-prefix-rejected-get.http');
  });
  test('08: a catalog token reads the (empty) global changefeed', async () => {
    const res = await get('/v2/_trust/changefeed?records=5', viaLeaf([catalog]));
    assertMatchesCapture(res, 'errors-token-auth', '08-catalog-token-empty-changefeed.http');
  });
});

describe('scopes per route', () => {
  const scopes: [string, string, string][] = [
    ['GET', '/v2/', 'registry:catalog:*'],
    ['GET', '/v2/example.com/x/_trust/tuf/3.root.json', 'repository:example.com/x:pull'],
    ['GET', `/v2/example.com/x/_trust/tuf/root.${'a'.repeat(64)}.json`, 'repository:example.com/x:pull'],
    ['GET', '/v2/example.com/x/_trust/changefeed?records=1', 'repository:example.com/x:pull'],
    ['GET', '/v2/example.com/x/_trust/tuf/snapshot.key', 'repository:example.com/x:push,pull'],
    ['POST', '/v2/example.com/x/_trust/tuf/snapshot.key', 'repository:example.com/x:*'],
    ['DELETE', '/v2/example.com/x/_trust/tuf/', 'repository:example.com/x:*'],
    ['GET', '/nowhere', 'registry:catalog:*'],
  ];
  for (const [method, p, scope] of scopes) {
    test(`${method} ${p} needs ${scope}`, async () => {
      const res = await raw(request(t.app.handler)[method.toLowerCase() as 'get'](p));
      assert.equal(res.status, 401);
      assert.equal(res.headers['www-authenticate'], `Bearer realm="${REALM}",service="${SERVICE}",scope="${scope}"`);
    });
  }
  test('health and metrics are open', async () => {
    assert.equal((await get('/_notary_server/health')).status, 200);
    assert.equal((await get('/metrics')).status, 200);
  });
  test('a pull token reads; the handler answers (404 for an empty GUN)', async () => {
    const res = await get('/v2/example.com/x/_trust/tuf/root.json', viaLeaf([repo('example.com/x', 'pull')]));
    assert.equal(res.status, 404);
    assert.match(body(res).toString(), /METADATA_NOT_FOUND/);
  });
  test('push,pull reaches the publish handler; pull alone does not', async () => {
    const post = (token: string): request.Test => raw(request(t.app.handler).post('/v2/example.com/x/_trust/tuf/').set('Authorization', `Bearer ${token}`).set('Content-Type', 'text/plain').send('x'));
    assert.match(body(await post(viaLeaf([repo('example.com/x', 'push', 'pull')]))).toString(), /MALFORMED_UPLOAD/);
    assert.equal((await post(viaLeaf([repo('example.com/x', 'pull')]))).status, 401);
  });
  test('`*` grants delete; push,pull does not', async () => {
    const del = (token: string): request.Test => raw(request(t.app.handler).delete('/v2/example.com/x/_trust/tuf/').set('Authorization', `Bearer ${token}`));
    assert.equal((await del(viaLeaf([repo('example.com/x', '*')]))).status, 200);
    const denied = await del(viaLeaf([repo('example.com/x', 'push', 'pull')]));
    assert.equal(denied.status, 401);
    assert.match(String(denied.headers['www-authenticate']), /error="insufficient_scope"$/);
  });
  test('access to another GUN, or to a GUN prefix, grants nothing here', async () => {
    assert.equal((await get('/v2/example.com/x/_trust/tuf/root.json', viaLeaf([repo('example.com/y', 'pull')]))).status, 401);
    assert.equal((await get('/v2/example.com/x/_trust/tuf/root.json', viaLeaf([repo('example.com/', 'pull')]))).status, 401);
  });
  test('the token never reaches the logs', async () => {
    const token = viaLeaf([repo('example.com/x', 'pull')]);
    await get('/v2/example.com/x/_trust/tuf/root.json', token);
    await get('/v2/example.com/x/_trust/tuf/root.json', token.slice(0, -4) + 'AAAA');
    const logs = t.logs.join('\n');
    assert.ok(!logs.includes(token.split('.')[2]!), 'signature not logged');
    assert.ok(!logs.includes(token.split('.')[1]!), 'claims not logged');
    assert.match(logs, /"user":"alice"/);
  });
});

describe('token checks, one at a time', () => {
  const access = [repo('example.com/x', 'pull')];
  const now = Math.floor(Date.now() / 1000);
  const accepted = async (token: string, az = authorizer()): Promise<boolean> => (await az.authorize({ authorization: `Bearer ${token}`, host: 'h' }, [{ type: 'repository', name: 'example.com/x', action: 'pull' }])).ok;

  test('a good token through an intermediate is accepted (the baseline for the cases below)', async () => {
    assert.ok(await accepted(viaLeaf(access)));
  });
  test('a self-signed leaf that is itself in the bundle is accepted (notary fixture setup)', async () => {
    assert.ok(await accepted(mintToken(access, { signer: pki.direct.key, chain: chainOf(pki.direct) })));
  });
  test('RS256 with an RSA leaf under the root', async () => {
    assert.ok(await accepted(mintToken(access, { signer: pki.rsa.key, alg: 'RS256', chain: chainOf(pki.rsa) })));
  });
  const refused: Record<string, () => string> = {
    'wrong issuer': () => viaLeaf(access, { claims: { iss: 'evil.example.com' } }),
    'wrong audience': () => viaLeaf(access, { claims: { aud: 'other' } }),
    'audience as an array (the vendored library decodes a string)': () => viaLeaf(access, { claims: { aud: [SERVICE] } }),
    'expired beyond the 60 s leeway': () => viaLeaf(access, { claims: { exp: now - 90 } }),
    'not valid yet beyond the leeway': () => viaLeaf(access, { claims: { nbf: now + 90 } }),
    'no exp at all (zero)': () => viaLeaf(access, { claims: { exp: undefined } }),
    'exp not an integer': () => viaLeaf(access, { claims: { exp: now + 0.5 } }),
    'chain to an untrusted root': () => mintToken(access, { signer: pki.rogue.key, chain: chainOf(pki.rogue) }),
    'intermediate left out of x5c': () => mintToken(access, { signer: pki.leaf.key, chain: chainOf(pki.leaf) }),
    'issuer certificate is not a CA': () => mintToken(access, { signer: pki.underNotCa.key, chain: chainOf(pki.underNotCa, pki.notCa) }),
    'signed by a key other than the x5c leaf': () => mintToken(access, { signer: pki.rogue.key, chain: chainOf(pki.leaf, pki.intermediate) }),
    'alg none': () => viaLeaf(access).split('.').slice(0, 2).join('.') + '.',
    'alg HS256': () => mintToken(access, { signer: pki.leaf.key, alg: 'HS256', chain: chainOf(pki.leaf, pki.intermediate) }),
    'alg does not fit the key (RS256 over an EC key)': () => mintToken(access, { signer: pki.rsa.key, alg: 'RS256', chain: chainOf(pki.leaf, pki.intermediate) }),
    'claims changed after signing': () => {
      const [h, , s] = viaLeaf(access).split('.');
      const forged = Buffer.from(JSON.stringify({ iss: 'auth.example.com', aud: SERVICE, sub: 'mallory', exp: now + 300, access: [repo('example.com/x', '*')] })).toString('base64url');
      return `${h}.${forged}.${s}`;
    },
    'unknown kid': () => mintToken(access, { signer: pki.leaf.key, header: { kid: 'AAAA:BBBB:CCCC:DDDD:EEEE:FFFF:GGGG:HHHH:IIII:JJJJ:KKKK:LLLL' } }),
    'jwk of an untrusted key without a chain': () => mintToken(access, { signer: pki.rogue.key, header: { jwk: pki.rogue.cert.publicKey.export({ format: 'jwk' }) } }),
    'no key at all in the header': () => mintToken(access, { signer: pki.direct.key }),
    'not three parts': () => 'abc.def',
    'header is not base64url JSON': () => '!!!.' + viaLeaf(access).split('.').slice(1).join('.'),
  };
  for (const [name, make] of Object.entries(refused)) {
    test(`refused: ${name}`, async () => assert.equal(await accepted(make()), false));
  }
  test('within the leeway: expired 30 s ago, or valid from 30 s on', async () => {
    assert.ok(await accepted(viaLeaf(access, { claims: { exp: now - 30 } })));
    assert.ok(await accepted(viaLeaf(access, { claims: { nbf: now + 30 } })));
  });
  test('kid: the libtrust ID of a bundle certificate key', async () => {
    const kid = libtrustKeyId(pki.direct.cert.publicKey);
    assert.match(kid, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    assert.ok(await accepted(mintToken(access, { signer: pki.direct.key, header: { kid } })));
    assert.equal(await accepted(mintToken(access, { signer: pki.rogue.key, header: { kid } })), false, 'signature must still verify');
  });
  test('jwk: a trusted bundle key, or a key proven by its own x5c', async () => {
    assert.ok(await accepted(mintToken(access, { signer: pki.direct.key, header: { jwk: pki.direct.cert.publicKey.export({ format: 'jwk' }) } })));
    const jwk = { ...pki.leaf.cert.publicKey.export({ format: 'jwk' }), x5c: [pki.leaf.cert.raw.toString('base64'), pki.intermediate.cert.raw.toString('base64')] };
    assert.ok(await accepted(mintToken(access, { signer: pki.leaf.key, header: { jwk } })));
  });
  test('every certificate of the chain must be within its validity period (leaf, intermediate, root)', async () => {
    const later = new Date(Date.now() + 3 * 86_400_000);
    const t0 = Math.floor(later.getTime() / 1000);
    const withShortRoot = (at?: Date): Authorizer => authorizer({ rootCertsPem: pki.root.certPem + pki.shortRoot.certPem, ...(at === undefined ? {} : { now: () => at }) });
    const cases: [string, Issuer[]][] = [
      ['leaf', [pki.shortLived]],
      ['intermediate', [pki.underShortIntermediate, pki.shortIntermediate]],
      ['root', [pki.underShortRoot]],
    ];
    for (const [which, chain] of cases) {
      const signer = chain[0]!.key;
      assert.ok(await accepted(mintToken(access, { signer, chain: chainOf(...chain) }), withShortRoot()), `${which}: fine today`);
      assert.equal(await accepted(mintToken(access, { signer, chain: chainOf(...chain), now: t0 }), withShortRoot(later)), false, `${which}: expired in 3 days`);
    }
    assert.ok(await accepted(mintToken(access, { signer: pki.rsa.key, alg: 'RS256', chain: chainOf(pki.rsa), now: t0 }), withShortRoot(later)), 'a 30-day chain still works then');
  });
  test('the Authorization header must be exactly "Bearer <token>" (scheme case-insensitive)', async () => {
    const az = authorizer();
    const token = viaLeaf(access);
    const need = [{ type: 'repository', name: 'example.com/x', action: 'pull' }];
    assert.ok((await az.authorize({ authorization: `bearer ${token}`, host: 'h' }, need)).ok);
    const twoSpaces = await az.authorize({ authorization: `Bearer  ${token}`, host: 'h' }, need);
    assert.ok(!twoSpaces.ok && !twoSpaces.challenge.includes('error='), 'treated as no token');
    const basic = await az.authorize({ authorization: 'Basic YTpi', host: 'h' }, need);
    assert.ok(!basic.ok && !basic.challenge.includes('error='));
  });
  test('autoredirect puts https://<Host>/auth/token in the challenge', async () => {
    const d = await authorizer({ autoRedirect: true }).authorize({ authorization: undefined, host: 'notary.internal:4443' }, [{ type: 'registry', name: 'catalog', action: '*' }]);
    assert.ok(!d.ok);
    assert.equal(d.challenge, `Bearer realm="https://notary.internal:4443/auth/token",service="${SERVICE}",scope="registry:catalog:*"`);
  });
  const reasonOf = async (token: string, az = authorizer()): Promise<string | null> => {
    const d = await az.authorize({ authorization: `Bearer ${token}`, host: 'h' }, [{ type: 'repository', name: 'example.com/x', action: 'pull' }]);
    return d.ok ? null : d.reason;
  };
  const withRoots = (...extra: Issuer[]): Authorizer => authorizer({ rootCertsPem: [pki.root, pki.direct, ...extra].map((i) => i.certPem).join('') });
  test('a leaf signed with SHA-1 is refused, and the reason says so', async () => {
    const token = mintToken(access, { signer: pki.sha1Leaf.key, chain: chainOf(pki.sha1Leaf) });
    assert.equal(await reasonOf(token), 'leaf CN=sha1Leaf: certificate is signed with SHA-1 (ecdsa-with-SHA1); reissue it with SHA-256');
  });
  test('an intermediate signed with MD5 is refused, and the reason says so', async () => {
    const token = mintToken(access, { signer: pki.underMd5Intermediate.key, chain: chainOf(pki.underMd5Intermediate, pki.md5Intermediate) });
    assert.equal(await reasonOf(token, withRoots(pki.rsaRoot)), 'intermediate CN=md5Intermediate: certificate is signed with MD5 (md5WithRSAEncryption); reissue it with SHA-256');
  });
  test("a root's own SHA-1 self-signature is not relied on: a SHA-256 leaf under it is accepted", async () => {
    assert.equal(await reasonOf(mintToken(access, { signer: pki.underSha1Root.key, chain: chainOf(pki.underSha1Root) }), withRoots(pki.sha1Root)), null);
  });
  test('pathLenConstraint 0 on the root: a leaf directly under it is accepted, one under a further CA is refused', async () => {
    const az = withRoots(pki.pathLen0Root);
    assert.equal(await reasonOf(mintToken(access, { signer: pki.underPathLen0Root.key, chain: chainOf(pki.underPathLen0Root) }), az), null);
    const deep = mintToken(access, { signer: pki.underCaUnderPathLen0Root.key, chain: chainOf(pki.underCaUnderPathLen0Root, pki.caUnderPathLen0Root) });
    assert.match((await reasonOf(deep, az)) ?? '', /^root CN=pathLen0Root: CA certificate allows at most 0 intermediate CA certificate\(s\) below it \(pathLenConstraint\) but the chain has 1/);
  });
  test('pathLenConstraint 0 on an intermediate: a leaf directly under it is accepted, one under a further CA is refused', async () => {
    assert.equal(await reasonOf(mintToken(access, { signer: pki.underPathLen0Intermediate.key, chain: chainOf(pki.underPathLen0Intermediate, pki.pathLen0Intermediate) })), null);
    const deep = mintToken(access, { signer: pki.underCaUnderPathLen0Intermediate.key, chain: chainOf(pki.underCaUnderPathLen0Intermediate, pki.caUnderPathLen0Intermediate, pki.pathLen0Intermediate) });
    assert.match((await reasonOf(deep)) ?? '', /^intermediate CN=pathLen0Intermediate: .*allows at most 0 .* but the chain has 1/);
  });
  test('an RSA signing key under 2048 bits is refused with that reason, and the log line gives it', async () => {
    const token = mintToken(access, { signer: pki.rsa1024.key, alg: 'RS256', chain: chainOf(pki.rsa1024) });
    assert.equal(await reasonOf(token), 'token signing key is RSA of 1024 bits; at least 2048 are required');
    assert.equal((await get('/v2/example.com/x/_trust/tuf/root.json', token)).status, 401);
    assert.match(t.logs.join('\n'), /"denied":"token signing key is RSA of 1024 bits; at least 2048 are required"/);
  });
  test('a bundle without certificates is refused at startup with the file named', () => {
    assert.throws(() => createTokenAuthorizer({ realm: REALM, service: SERVICE, issuer: 'i', rootCertsPem: 'nothing', rootCertsSource: '/etc/x.pem', autoRedirect: false }), /at least one CERTIFICATE in the root bundle \/etc\/x.pem/);
  });
  test('the fixture issuer certificate loads as a bundle', () => {
    const pem = fs.readFileSync(path.join(fixture('errors-token-auth'), 'token-signing-root.crt'), 'utf8');
    assert.equal(createTokenAuthorizer({ realm: REALM, service: SERVICE, issuer: 'i', rootCertsPem: pem, rootCertsSource: 'f', autoRedirect: false }).kind, 'token');
  });
});

describe('non-ASCII challenge parameters go out as UTF-8, as notary-server (Go) writes them', () => {
  const utf8 = (header: unknown): string => Buffer.from(String(header), 'latin1').toString('utf8');
  let app: TestApp;
  before(async () => {
    app = await makeApp({ authorizer: authorizer({ realm: 'https://auth.example.com/tökén', service: 'notary.ĳssel' }), gunPrefixes: ['example.com/'] });
  });
  after(async () => app.close());

  test('realm, service and a GUN in the scope (beyond latin1 too) are UTF-8 bytes in the header', async () => {
    const res = await raw(request(app.app.handler).get(`/v2/${encodeURIComponent('example.com/łódź')}/_trust/tuf/root.json`.replace('%2F', '/')));
    assert.equal(res.status, 401);
    assert.equal(utf8(res.headers['www-authenticate']), 'Bearer realm="https://auth.example.com/tökén",service="notary.ĳssel",scope="repository:example.com/łódź:pull"');
  });
  test('control characters in configured values are escaped as Go %q does, not a 500', async () => {
    const d = await authorizer({ realm: 'a\nb\u0007"c"' }).authorize({ authorization: undefined, host: 'h' }, [{ type: 'registry', name: 'catalog', action: '*' }]);
    assert.ok(!d.ok);
    assert.equal(d.challenge, 'Bearer realm="a\\nb\\a\\"c\\"",service="notary.example.com",scope="registry:catalog:*"');
  });
  test('autoredirect echoes a UTF-8 Host as the same UTF-8 bytes', async () => {
    const az = authorizer({ autoRedirect: true });
    const a2 = await makeApp({ authorizer: az, gunPrefixes: ['example.com/'] });
    try {
      const res = await raw(request(a2.app.handler).get('/v2/').set('Host', Buffer.from('nötary.example:4443', 'utf8').toString('latin1')));
      assert.equal(res.status, 401);
      assert.equal(utf8(res.headers['www-authenticate']), 'Bearer realm="https://nötary.example:4443/auth/token",service="notary.example.com",scope="registry:catalog:*"');
    } finally {
      await a2.close();
    }
  });
});

// SPDX-License-Identifier: Apache-2.0
// Where the CLI's server login comes from and where it may go: NOTARY_AUTH
// (also wrapped by `base64`), docker's config.json (credential helpers,
// identity tokens), a prompt on a real terminal (never in CI), looked up only
// when a server asks; token realms that redirect; no login in clear text to a
// plain-http realm named by an https server. The trust server and realm are
// scripted stubs (the registry's auth service cannot be had here); docker's
// credential helpers are a script speaking their stdin/stdout protocol.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentialsFromEnv } from '../../client/credentials.js';
import type { HttpRequest, HttpSend } from '../../client/http-transport.js';
import { NotaryRemote } from '../../client/remote.js';
import { getBearerToken, TokenCache } from '../../client/token-auth.js';
import { RemoteError } from '../../shared/errors.js';
import { HAS_SCRIPT, terminalRunner } from '../support/terminal.js';
import { signet, tmp } from './key-helpers.js';
import { startStub, type Stub } from './support/http-stub.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'signet.cjs');
const GUN = 'registry.example.com/team/app';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** A trust server that wants a Bearer token from `realm`, answering 404 (no such repository) once it has one. */
async function bearerServer(realm: () => string, accepted = 'Bearer good-token'): Promise<Stub> {
  return startStub((req, res) => {
    if (req.headers.authorization === accepted) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"METADATA_NOT_FOUND","message":"not found"}]}');
    const error = req.headers.authorization === undefined ? '' : ',error="invalid_token"';
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm()}",service="notary.test",scope="repository:${GUN}:pull"${error}` }).end();
  });
}

describe('NOTARY_AUTH', () => {
  it('is read as Go reads it: line breaks from `base64` wrapping are ignored', () => {
    const long = b64(`ci-bot:${'p'.repeat(90)}`);
    const wrapped = long.replace(/(.{76})/g, '$1\n');
    assert.ok(wrapped.includes('\n'));
    assert.deepEqual(credentialsFromEnv(wrapped), { username: 'ci-bot', password: 'p'.repeat(90), origin: 'NOTARY_AUTH' });
    assert.throws(() => credentialsFromEnv('not base64!\n'), /NOTARY_AUTH is not padded base64/);
  });

  it('is not looked at by commands that never ask a server for a login', async () => {
    const dir = tmp();
    const env = { NOTARY_AUTH: 'not base64!' };
    const payload = path.join(dir, 'payload');
    fs.writeFileSync(payload, 'x');
    const add = await signet(['-s', 'http://127.0.0.1:9', '-d', dir, 'add', GUN, 'v1', payload], { env });
    assert.equal(add.code, 0, add.stderr);
    const status = await signet(['-s', 'http://127.0.0.1:9', '-d', dir, 'status', GUN], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /v1/);
  });
});

describe('docker config.json logins', () => {
  let realm: Stub;
  let server: Stub;
  const posted: URLSearchParams[] = [];
  before(async () => {
    realm = await startStub((req, res) => {
      const url = new URL(req.url, 'http://x');
      if (url.pathname === '/moved') return void res.writeHead(307, { location: '/token' }).end();
      if (req.method === 'POST') {
        const form = new URLSearchParams(req.body.toString('utf8'));
        posted.push(form);
        if (form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === 'id-token-1') return void res.writeHead(200).end(JSON.stringify({ access_token: 'good-token', expires_in: 300 }));
        return void res.writeHead(401).end();
      }
      if (req.headers.authorization === `Basic ${b64('alice:secret')}`) return void res.writeHead(200).end(JSON.stringify({ token: 'good-token' }));
      res.writeHead(401).end();
    });
    server = await bearerServer(() => `${realm.url}/token`);
  });
  after(async () => {
    await realm.close();
    await server.close();
  });

  /** A HOME with ~/.docker/config.json and a bin dir holding docker-credential-fake, which knows `known` hosts. */
  function home(config: unknown, known: Record<string, { Username: string; Secret: string }> = {}): { home: string; env: Record<string, string> } {
    const h = tmp('signet-login-home-');
    fs.mkdirSync(path.join(h, '.docker'));
    fs.writeFileSync(path.join(h, '.docker', 'config.json'), JSON.stringify(config));
    const bin = path.join(h, 'bin');
    fs.mkdirSync(bin);
    const answers = Object.entries(known)
      .map(([host, a]) => `  ${JSON.stringify(host)}) echo '${JSON.stringify({ ServerURL: host, ...a })}' ;;`)
      .join('\n');
    fs.writeFileSync(
      path.join(bin, 'docker-credential-fake'),
      `#!/bin/sh\n[ "$1" = get ] || exit 2\nread host\necho "$host" >> "${h}/helper.log"\ncase "$host" in\n${answers}\n  *) echo "credentials not found in native keychain"; exit 1 ;;\nesac\n`,
      { mode: 0o755 },
    );
    return { home: h, env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, DOCKER_CONFIG: path.join(h, '.docker') } };
  }

  const list = (h: { home: string; env: Record<string, string> }, url = server.url) => signet(['-s', url, '-d', path.join(h.home, 'trust'), 'list', GUN], { home: h.home, env: h.env });

  it('runs the credsStore helper for the GUN registry, and credHelpers wins over a stale auths entry', async () => {
    const store = home({ credsStore: 'fake', auths: { 'registry.example.com': {} } }, { 'registry.example.com': { Username: 'alice', Secret: 'secret' } });
    const r = await list(store);
    assert.equal(r.code, 7, `past the login the repository does not exist: ${r.stderr}`);
    assert.equal(fs.readFileSync(path.join(store.home, 'helper.log'), 'utf8'), 'registry.example.com\n');
    const helpers = home(
      { credHelpers: { 'registry.example.com': 'fake' }, auths: { 'registry.example.com': { auth: b64('alice:stale-password') } } },
      { 'registry.example.com': { Username: 'alice', Secret: 'secret' } },
    );
    assert.equal((await list(helpers)).code, 7);
  });

  it('says which helper is missing, and goes on when the helper holds nothing for the host', async () => {
    const missing = home({ credsStore: 'not-installed' });
    const r = await list(missing);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /credential helper "not-installed" for registry\.example\.com, but docker-credential-not-installed is not on PATH/);
    // a helper's empty answer is the answer, as in docker: a leftover auths login is not used
    const empty = home({ credsStore: 'fake', auths: { 'registry.example.com': { auth: b64('alice:secret') } } });
    const none = await list(empty);
    assert.equal(none.code, 3, none.stderr);
    assert.match(none.stderr, /requires a login/);
  });

  it('exchanges an identity token with the OAuth form and never sends an empty password', async () => {
    const before = realm.requests.length;
    const fromFile = home({ auths: { 'registry.example.com': { auth: b64('alice:'), identitytoken: 'id-token-1' } } });
    assert.equal((await list(fromFile)).code, 7);
    const fromHelper = home({ credsStore: 'fake' }, { 'registry.example.com': { Username: '<token>', Secret: 'id-token-1' } });
    assert.equal((await list(fromHelper)).code, 7);
    const seen = realm.requests.slice(before);
    assert.ok(seen.every((q) => q.method === 'POST' && q.headers.authorization === undefined), 'no Basic header with an identity token');
    for (const form of posted.slice(-2)) {
      assert.equal(form.get('service'), 'notary.test');
      assert.equal(form.get('scope'), `repository:${GUN}:pull`);
    }
    const noPassword = home({ auths: { 'registry.example.com': { auth: b64('alice:') } } });
    assert.equal((await list(noPassword)).code, 3);
    assert.equal(realm.requests.at(-1)?.headers.authorization, undefined, 'docker sends Basic only with a password');
    const wrong = home({ auths: { 'registry.example.com': { auth: b64('alice:'), identitytoken: 'expired' } } });
    const r = await list(wrong);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /refused the identity token \(from .*config\.json\)/);
    assert.doesNotMatch(r.stderr, /expired/);
  });

  it('follows a realm that redirects on its own host', async () => {
    const moved = await bearerServer(() => `${realm.url}/moved`);
    try {
      const h = home({ auths: { 'registry.example.com': { auth: b64('alice:secret') } } });
      const r = await list(h, moved.url);
      assert.equal(r.code, 7, r.stderr);
      assert.equal(realm.requests.at(-1)?.headers.authorization, `Basic ${b64('alice:secret')}`);
    } finally {
      await moved.close();
    }
  });

  it('names a token the trust server rejects as a server configuration problem, not a wrong password', async () => {
    const picky = await bearerServer(() => `${realm.url}/token`, 'Bearer some-other-token');
    try {
      const r = await list(home({ auths: { 'registry.example.com': { auth: b64('alice:secret') } } }), picky.url);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /refused the token its realm issued for user alice \(from .*config\.json\) \(invalid_token\); the token server and trust server disagree/);
    } finally {
      await picky.close();
    }
  });
});

describe('token realm safety', () => {
  const challenge = (realm: string) => ({ scheme: 'bearer', params: { realm, service: 's' } });
  const never: HttpSend = () => Promise.reject(new Error('nothing may be sent'));

  it('sends no password or identity token to a plain-http realm named by an https server', async () => {
    for (const credentials of [{ username: 'alice', password: 'secret' }, { username: '', password: '', identityToken: 'tok' }]) {
      await assert.rejects(
        getBearerToken(never, new TokenCache(), { challenge: challenge('http://auth.example.com/token'), scopes: ['repository:a:pull'], credentials, timeoutMs: 1000, origin: new URL('https://notary.example.com/v2/') }),
        (e: unknown) => e instanceof RemoteError && /will not send .* unencrypted: the server's token realm must be https/.test(e.message),
      );
    }
  });

  it('names the token service, not the trust server, when the realm cannot be reached', async () => {
    const server = await bearerServer(() => 'http://127.0.0.1:9/token');
    try {
      const r = new NotaryRemote({ serverUrl: server.url, gun: GUN, credentials: { username: 'alice', password: 'secret' } });
      await assert.rejects(r.getRole('root'), (e: unknown) => e instanceof RemoteError && e.code === 'NETWORK' && /cannot get a token from the token service at http:\/\/127\.0\.0\.1:9, the realm the trust server named \(ECONNREFUSED\)/.test(e.message));
    } finally {
      await server.close();
    }
  });

  it('drops the login on a redirect to another host and refuses https → http', async () => {
    const sent: HttpRequest[] = [];
    const hops: Record<string, string> = { 'https://auth.example.com/token': 'https://elsewhere.example.com/token', 'https://a.example.com/t': 'http://a.example.com/t' };
    const send: HttpSend = (req) => {
      sent.push(req);
      const next = hops[`${req.url.origin}${req.url.pathname}`];
      if (next !== undefined) return Promise.resolve({ status: 302, headers: { location: next }, body: Buffer.alloc(0) });
      return Promise.resolve({ status: 200, headers: {}, body: Buffer.from('{"token":"t"}') });
    };
    const credentials = { username: 'alice', password: 'secret' };
    assert.equal(await getBearerToken(send, new TokenCache(), { challenge: challenge('https://auth.example.com/token'), scopes: [], credentials, timeoutMs: 1000 }), 't');
    assert.equal(sent.length, 2);
    assert.ok(sent[0]!.headers?.authorization !== undefined);
    assert.equal(sent[1]!.url.host, 'elsewhere.example.com');
    assert.equal(sent[1]!.headers?.authorization, undefined, 'the password stays with the realm host');
    await assert.rejects(getBearerToken(send, new TokenCache(), { challenge: challenge('https://a.example.com/t'), scopes: [], credentials, timeoutMs: 1000 }), /redirected from https to plain http/);
  });
});

describe('a login typed at a terminal', { skip: !HAS_SCRIPT && 'util-linux script not installed' }, () => {
  let server: Stub;
  before(async () => {
    server = await startStub((req, res) => {
      if (req.headers.authorization === `Basic ${b64('alice:typed-secret')}`) return void res.writeHead(404).end();
      res.writeHead(401, { 'www-authenticate': 'Basic realm="notary"' }).end();
    });
  });
  after(async () => {
    await server.close();
  });

  it('is asked for when nothing else has one, without echoing the password', async () => {
    const dir = tmp();
    const { status, output } = await terminalRunner(BIN)(['-s', server.url, '-d', dir, 'list', GUN], [
      [/asks for a login\.\r?\n[\s\S]*Enter username: /, 'alice'],
      [/Enter password:/, 'typed-secret'],
    ], { HOME: dir });
    assert.equal(status, 7, output);
    assert.doesNotMatch(output, /typed-secret/);
    assert.equal(server.requests.at(-1)?.headers.authorization, `Basic ${b64('alice:typed-secret')}`);
  });

  it('is never asked for with CI=true: exit 3 naming where a login goes', async () => {
    const dir = tmp();
    const { status, output } = await terminalRunner(BIN)(['-s', server.url, '-d', dir, 'list', GUN], [], { HOME: dir, CI: 'true' });
    assert.equal(status, 3, output);
    assert.doesNotMatch(output, /Enter username/);
    assert.match(output, /requires a login for registry\.example\.com\/team\/app; set NOTARY_AUTH/);
  });

  it('is never asked for by sign, the CI command, even on a terminal', async () => {
    const dir = tmp();
    const args = ['-s', server.url, '-d', dir, 'sign', GUN, '1.0', '--digest', `sha256:${'a'.repeat(64)}`, '--size', '10'];
    const { status, output } = await terminalRunner(BIN)(args, [], { HOME: dir });
    assert.equal(status, 3, output);
    assert.doesNotMatch(output, /Enter username/);
  });
});

describe('anonymous first, then a login', () => {
  it('asks for a login only after anonymous access was refused, and gets a fresh token for it', async () => {
    const realm = await startStub((req, res) => {
      const who = req.headers.authorization === `Basic ${b64('bob:pw')}` ? 'bob' : 'anonymous';
      res.writeHead(200).end(JSON.stringify({ token: `token-of-${who}` }));
    });
    const server = await bearerServer(() => `${realm.url}/token`, 'Bearer token-of-bob');
    try {
      let asked = 0;
      const remote = new NotaryRemote({
        serverUrl: server.url,
        gun: GUN,
        credentials: {
          known: () => Promise.resolve(null),
          prompt: () => {
            asked++;
            return Promise.resolve({ username: 'bob', password: 'pw', origin: 'the prompt' });
          },
        },
      });
      await assert.rejects(remote.getRole('root'), (e: unknown) => e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND');
      assert.equal(asked, 1);
      assert.deepEqual(
        realm.requests.map((q) => q.headers.authorization ?? 'none'),
        ['none', `Basic ${b64('bob:pw')}`],
      );
    } finally {
      await realm.close();
      await server.close();
    }
  });
});


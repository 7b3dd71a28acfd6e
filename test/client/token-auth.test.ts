// SPDX-License-Identifier: Apache-2.0
// Token auth: header parsing and credentials in isolation, then the whole
// flow against a real notary-server configured for token auth. The token
// realm is a test server issuing ES256 JWTs signed by a certificate the
// notary-server trusts (the registry's auth service cannot be had here).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { NotaryRemote } from '../../client/remote.js';
import { credentialsFromEnv } from '../../client/credentials.js';
import { answerChallenge, parseWwwAuthenticate, TokenCache } from '../../client/token-auth.js';
import type { HttpResponse, HttpSend } from '../../client/http-transport.js';
import { RemoteError, UsageError } from '../../shared/errors.js';
import { fixture } from '../support/paths.js';
import { freePort } from '../support/net.js';
import { startStub, type Stub } from './support/http-stub.js';

describe('parseWwwAuthenticate', () => {
  it('parses the notary-server challenges', () => {
    const raw = fs.readFileSync(fixture('errors-token-auth', '04-insufficient-scope.http'), 'utf8');
    const header = /^Www-Authenticate: (.*)$/m.exec(raw)![1]!.trim();
    assert.deepEqual(parseWwwAuthenticate(header), [
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example.com/token', service: 'notary.example.com', scope: 'repository:example.com/x:push,pull', error: 'insufficient_scope' },
      },
    ]);
  });

  it('parses several challenges, token values and escapes', () => {
    assert.deepEqual(parseWwwAuthenticate('Basic realm="a \\"b\\"", Bearer realm=x,service="s"'), [
      { scheme: 'basic', params: { realm: 'a "b"' } },
      { scheme: 'bearer', params: { realm: 'x', service: 's' } },
    ]);
    assert.deepEqual(parseWwwAuthenticate(''), []);
  });
});

describe('credentialsFromEnv', () => {
  it('decodes base64 user:password and trims the password like notary', () => {
    assert.deepEqual(credentialsFromEnv(Buffer.from('alice:s3:cret \n').toString('base64')), { username: 'alice', password: 's3:cret', origin: 'NOTARY_AUTH' });
    assert.equal(credentialsFromEnv(undefined), null);
    assert.equal(credentialsFromEnv(''), null);
  });

  it('rejects malformed values instead of going on anonymously', () => {
    assert.throws(() => credentialsFromEnv('alice:pw'), UsageError);
    assert.throws(() => credentialsFromEnv(Buffer.from(':pw').toString('base64')), /non-empty user name/);
    assert.throws(() => credentialsFromEnv(Buffer.from('nocolon').toString('base64')), UsageError);
  });
});

describe('TokenCache', () => {
  it('expires tokens', () => {
    let now = 0;
    const c = new TokenCache(() => now);
    c.set('k', 't', 60);
    assert.equal(c.get('k'), 't');
    now = 60_000;
    assert.equal(c.get('k'), null);
  });
});

describe('answerChallenge', () => {
  const creds = { username: 'u', password: 'p' };
  const unauthorized = (challenge: string | undefined): HttpResponse => ({ status: 401, headers: challenge === undefined ? {} : { 'www-authenticate': challenge }, body: Buffer.alloc(0) });
  const realm = (seen: URL[]): HttpSend => async (req) => {
    seen.push(req.url);
    return { status: 200, headers: {}, body: Buffer.from(JSON.stringify({ token: 'tok' })) };
  };
  it('gets a bearer token for the needed scopes plus the one the challenge names', async () => {
    const seen: URL[] = [];
    const auth = await answerChallenge(unauthorized('Bearer realm="https://auth.example.com/t",service="s",scope="repository:a:pull"'), { send: realm(seen), tokens: new TokenCache(), scopes: ['registry:catalog:*'], credentials: creds, timeoutMs: 1000 });
    assert.equal(auth, 'Bearer tok');
    assert.deepEqual(seen.map((u) => u.searchParams.getAll('scope')), [['registry:catalog:*', 'repository:a:pull']]);
  });
  it('answers basic with the credentials, and nothing without them or without a challenge', async () => {
    const ctx = { send: realm([]), tokens: new TokenCache(), scopes: [], timeoutMs: 1000 };
    assert.equal(await answerChallenge(unauthorized('Basic realm="r"'), { ...ctx, credentials: creds }), `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(await answerChallenge(unauthorized('Basic realm="r"'), { ...ctx, credentials: null }), null);
    assert.equal(await answerChallenge(unauthorized(undefined), { ...ctx, credentials: creds }), null);
  });
});

describe('token auth against notary-server', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-token-'));
  const service = 'notary.test';
  const issuer = 'auth.test';
  const users: Record<string, { password: string; actions: string[] }> = {
    writer: { password: 'w-pass', actions: ['push', 'pull', '*'] },
    reader: { password: 'r-pass', actions: ['pull'] },
  };
  let realm: Stub;
  let serverUrl = '';
  let child: ChildProcess | undefined;

  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tok.key', '-out', 'tok.crt', '-days', '2', '-subj', '/CN=token-signer'], { cwd: dir, stdio: 'ignore' });
    const key = await importPKCS8(fs.readFileSync(path.join(dir, 'tok.key'), 'utf8'), 'ES256');
    const certDer = new X509Certificate(fs.readFileSync(path.join(dir, 'tok.crt'))).raw.toString('base64');
    realm = await startStub((req, res) => {
      const url = new URL(req.url, 'http://x');
      const auth = req.headers.authorization ?? '';
      const [user, pass] = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString().split(':') : [];
      const u = user === undefined ? undefined : users[user];
      if (u === undefined || u.password !== pass) {
        res.writeHead(401);
        res.end();
        return;
      }
      const access = url.searchParams.getAll('scope').map((s) => {
        const [type, name, actions] = [s.slice(0, s.indexOf(':')), s.slice(s.indexOf(':') + 1, s.lastIndexOf(':')), s.slice(s.lastIndexOf(':') + 1)];
        return { type, name, actions: actions.split(',').filter((a) => u.actions.includes(a)) };
      });
      void new SignJWT({ access })
        .setProtectedHeader({ alg: 'ES256', x5c: [certDer] })
        .setIssuer(issuer)
        .setAudience(url.searchParams.get('service') ?? '')
        .setSubject(user!)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('5m')
        .setJti(randomUUID())
        .sign(key)
        .then((token) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ token, expires_in: 300 }));
        });
    });
    const port = await freePort();
    serverUrl = `http://127.0.0.1:${port}`;
    fs.writeFileSync(
      path.join(dir, 'server.json'),
      JSON.stringify({
        server: { http_addr: `127.0.0.1:${port}` },
        trust_service: { type: 'local' },
        storage: { backend: 'memory' },
        logging: { level: 'error' },
        auth: { type: 'token', options: { realm: `${realm.url}/token`, service, issuer, rootcertbundle: path.join(dir, 'tok.crt') } },
      }),
    );
    child = spawn('notary-server', ['-config', path.join(dir, 'server.json')], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`${serverUrl}/_notary_server/health`);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('notary-server with token auth did not start');
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) {
      const c = child;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGTERM');
      });
    }
    await realm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const creds = (user: string) => ({ username: user, password: users[user]!.password });

  it('without credentials: AUTH_REQUIRED naming NOTARY_AUTH', async () => {
    const r = new NotaryRemote({ serverUrl, gun: 'example.com/t1' });
    await assert.rejects(r.getRole('root'), (e: unknown) => e instanceof RemoteError && e.code === 'AUTH_REQUIRED' && /NOTARY_AUTH/.test(e.message));
  });

  it('with credentials: gets a token, retries, and reuses the cached token', async () => {
    const before = realm.requests.length;
    const r = new NotaryRemote({ serverUrl, gun: 'example.com/t1', credentials: creds('reader') });
    // past auth, the GUN simply does not exist yet
    await assert.rejects(r.getRole('root'), (e: unknown) => e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND');
    await assert.rejects(r.getRole('targets'), (e: unknown) => e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND');
    assert.equal(realm.requests.length - before, 1, 'one token for both requests');
    const tokenReq = new URL(realm.requests.at(-1)!.url, 'http://x');
    assert.equal(tokenReq.searchParams.get('service'), service);
    assert.ok(tokenReq.searchParams.getAll('scope').includes('repository:example.com/t1:pull'));
  });

  it('push with a pull-only user: AUTH_REQUIRED for lacking access', async () => {
    const r = new NotaryRemote({ serverUrl, gun: 'example.com/t2', credentials: creds('reader'), access: 'push,pull' });
    await assert.rejects(r.getKey('timestamp'), (e: unknown) => e instanceof RemoteError && e.code === 'AUTH_REQUIRED' && /user reader lacks push,pull access/.test(e.message));
  });

  it('push with a writer: the key endpoint answers', async () => {
    const r = new NotaryRemote({ serverUrl, gun: 'example.com/t3', credentials: creds('writer'), access: 'push,pull' });
    const key = JSON.parse((await r.getKey('timestamp')).toString()) as { keytype: string };
    assert.equal(key.keytype, 'ed25519');
  });

  it('a wrong password: AUTH_REQUIRED naming the user, never the password', async () => {
    const r = new NotaryRemote({ serverUrl, gun: 'example.com/t4', credentials: { username: 'writer', password: 'nope-secret' } });
    await assert.rejects(r.getRole('root'), (e: unknown) => e instanceof RemoteError && e.code === 'AUTH_REQUIRED' && /writer/.test(e.message) && !/nope-secret/.test(e.message));
  });
});

// SPDX-License-Identifier: Apache-2.0
// Docker Content Trust conventions: `-d ~/.docker/trust` with Docker's legacy
// key layout (private/root_keys, private/tuf_keys/<gun>), the
// DOCKER_CONTENT_TRUST_{ROOT,REPOSITORY}_PASSPHRASE variables end to end, and
// registry credentials from ~/.docker/config.json for token auth.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { UsageError } from '../../shared/errors.js';
import { credentialsFromDockerConfig, dockerCredentialHosts, resolveCredentials } from '../../client/credentials.js';
import { runNotary, startNotaryServer, type NotaryServer } from './support/notary.js';
import { startStub, type Stub } from './support/http-stub.js';
import { signet, tmp } from './key-helpers.js';

const DCT_ENV = { DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'dct-root-pass', DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'dct-repo-pass' };
const openssl = (args: string[], input?: string): string => execFileSync('openssl', args, { input: input ?? '', encoding: 'utf8' });

/** A Docker trust dir as docker < 1.11 left it: legacy paths, OpenSSL-encrypted EC keys without headers. */
function legacyDockerTrustDir(home: string): { trust: string; rootId: string; targetsId: string } {
  const trust = path.join(home, '.docker', 'trust');
  const plant = (rel: string, pass: string): string => {
    const plain = openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout']);
    const id = publicKeyFromKeyObject(createPrivateKey(plain)).id;
    const file = path.join(trust, 'private', rel.replace('ID', id));
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, openssl(['ec', '-aes256', '-passout', `pass:${pass}`], plain), { mode: 0o600 });
    return id;
  };
  const rootId = plant('root_keys/ID_root.key', DCT_ENV.DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE);
  const targetsId = plant('tuf_keys/docker.io/library/app/ID_targets.key', DCT_ENV.DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE);
  fs.mkdirSync(path.join(trust, 'trusted_certificates'), { recursive: true });
  return { trust, rootId, targetsId };
}

describe('Docker Content Trust trust dir and passphrases', () => {
  let server: NotaryServer;
  before(async () => {
    server = await startNotaryServer();
  });
  after(async () => {
    await server.stop();
  });

  it('-d ~/.docker/trust lists legacy root_keys/tuf_keys keys as notary does after migrating them', async () => {
    const home = tmp('signet-dct-home-');
    const { trust, rootId, targetsId } = legacyDockerTrustDir(home);
    const ours = await signet(['-d', '~/.docker/trust', 'key', 'list'], { home, env: DCT_ENV });
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(ours.stdout, new RegExp(`root {4,}${rootId}`));
    assert.match(ours.stdout, new RegExp(`targets {4,}docker\\.io/library/app {4,}${targetsId}`));
    assert.ok(fs.existsSync(path.join(trust, 'private', 'root_keys')), 'listing reads legacy files in place');
    const theirs = runNotary(['key', 'list'], { trustDir: trust });
    assert.equal(theirs.stdout, ours.stdout);
  });

  it('DOCKER_CONTENT_TRUST_* passphrases carry init, publish and rotation; notary opens the new keys with the same values', async () => {
    const home = tmp('signet-dct-home-');
    const { trust, rootId } = legacyDockerTrustDir(home);
    const gun = 'registry.example.com/team/app';
    const payload = path.join(home, 'payload');
    fs.writeFileSync(payload, 'dct\n');
    const run = (...args: string[]) => signet(['-s', server.url, '-d', '~/.docker/trust', ...args], { home, env: DCT_ENV });
    const init = await run('init', gun, '-p');
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, new RegExp(`Root key found, using: ${rootId}`));
    assert.equal((await run('add', gun, 'v1', payload, '-p')).code, 0);
    assert.equal((await run('key', 'rotate', gun, 'snapshot', '-r')).code, 0);
    const rot = await run('key', 'rotate', gun, 'targets');
    assert.equal(rot.code, 0, rot.stderr);
    const asNotary = runNotary(['add', '-p', gun, 'by-notary', payload], {
      trustDir: trust,
      server: server.url,
      env: { NOTARY_ROOT_PASSPHRASE: DCT_ENV.DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE, NOTARY_TARGETS_PASSPHRASE: DCT_ENV.DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE },
    });
    assert.equal(asNotary.status, 0, asNotary.stderr);
    const wrong = await signet(['-s', server.url, '-d', '~/.docker/trust', 'add', gun, 'v2', payload, '-p'], { home, env: { DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'not-it' } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE/);
    assert.doesNotMatch(wrong.stderr, /not-it/);
  });
});

describe('registry credentials from docker config.json', () => {
  let stub: Stub;
  const user = 'ci-bot';
  const password = 's3cret-pw';
  before(async () => {
    stub = await startStub((req, res) => {
      const auth = req.headers.authorization ?? '';
      if (req.url.startsWith('/token')) {
        const ok = auth === `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(ok ? JSON.stringify({ token: 'granted-token', expires_in: 300 }) : '');
        return;
      }
      if (auth !== 'Bearer granted-token') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${stub.url}/token",service="stub",scope="repository:registry.example.com/team/app:pull"`, 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}\n');
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"METADATA_NOT_FOUND","message":"You have requested metadata that does not exist.","detail":{}}]}\n');
    });
  });
  after(async () => {
    await stub.close();
  });

  const gun = 'registry.example.com/team/app';
  function homeWith(auths: Record<string, unknown>, dir = tmp('signet-dct-home-')): string {
    fs.mkdirSync(path.join(dir, '.docker'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.docker', 'config.json'), JSON.stringify({ auths }));
    return dir;
  }

  it('uses the docker login of the GUN registry for the token realm; without it the command needs credentials', async () => {
    const home = homeWith({ 'https://registry.example.com': { auth: Buffer.from(`${user}:${password}`).toString('base64') } });
    const r = await signet(['-s', stub.url, '-d', path.join(home, 'trust'), 'list', gun], { home });
    assert.equal(r.code, 7, `past auth the repository does not exist: ${r.stderr}`);
    assert.ok(stub.requests.some((q) => q.url.startsWith('/token') && q.headers.authorization?.startsWith('Basic ')));
    const none = await signet(['-s', stub.url, '-d', path.join(home, 'trust'), 'list', gun], { home: tmp('signet-dct-home-') });
    assert.equal(none.code, 3);
    assert.doesNotMatch(r.stderr + none.stderr, /s3cret-pw/);
  });

  it('NOTARY_AUTH wins over docker config; DOCKER_CONFIG moves the file; the server host is the fallback', () => {
    const env = (home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ HOME: home, ...extra });
    const byServer = homeWith({ '127.0.0.1:4443': { username: 'u', password: 'p' } });
    const cfg = path.join(byServer, '.docker', 'config.json');
    assert.deepEqual(resolveCredentials(env(byServer), 'https://127.0.0.1:4443', 'plainname/app'), { username: 'u', password: 'p', origin: cfg });
    assert.deepEqual(resolveCredentials(env(byServer, { NOTARY_AUTH: Buffer.from('n:q').toString('base64') }), 'https://127.0.0.1:4443', 'x/y'), { username: 'n', password: 'q', origin: 'NOTARY_AUTH' });
    const elsewhere = homeWith({ 'registry.example.com': { username: 'd', password: 'e' } }, tmp('signet-dockercfg-'));
    assert.deepEqual(resolveCredentials({ HOME: '/nonexistent', DOCKER_CONFIG: path.join(elsewhere, '.docker') }, 'https://notary:4443', gun), { username: 'd', password: 'e', origin: path.join(elsewhere, '.docker', 'config.json') });
    assert.equal(resolveCredentials(env(byServer), 'https://other:4443', gun), null);
    assert.deepEqual(dockerCredentialHosts('https://notary.docker.io', 'docker.io/library/alpine'), ['index.docker.io', 'docker.io', 'notary.docker.io']);
    assert.deepEqual(dockerCredentialHosts('https://n:1', 'library/alpine'), ['n:1']);
    const broken = homeWith({ 'registry.example.com': { auth: 'bm9jb2xvbg==' } });
    assert.throws(() => credentialsFromDockerConfig(['registry.example.com'], env(broken)), (e: unknown) => e instanceof UsageError && /docker login registry\.example\.com/.test(e.message));
  });
});

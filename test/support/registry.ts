// SPDX-License-Identifier: Apache-2.0
// A throw-away Debian `docker-registry` (docker/distribution 2.8) on a free
// 127.0.0.1 port with a temporary storage dir and config file, optionally
// behind token auth (a small token server here signs ES256 JWTs that the
// registry trusts through its rootcertbundle) or htpasswd basic auth. Images
// are pushed over the registry's HTTP API: blob upload (POST, then PUT
// ?digest=) for a config blob and a layer, then the manifest.
// Callers must `await stop()`; children are also killed when the test process exits.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import bcrypt from 'bcryptjs';
import { SignJWT } from 'jose';
import { freePort, sleep } from './net.js';

export type RegistryAuth = 'none' | 'token' | 'basic';

export const REGISTRY_USER = { username: 'ci-bot', password: 'h16-registry-pass' } as const;
const SERVICE = 'signet-test-registry';
const ISSUER = 'signet-test-token-issuer';

/** Why the registry cannot be started here, or null when it can. */
export function registryUnavailable(): string | null {
  for (const bin of ['docker-registry', 'openssl']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is not installed (Debian package ${bin}); .ci/run installs it`;
  }
  return null;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** libtrust's key ID (what distribution matches a JWT `kid` against): base32 of sha256(SPKI)[:30], in groups of 4. */
function libtrustKeyId(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const bytes = createHash('sha256').update(spki).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

export interface PushedImage {
  readonly digest: string;
  readonly size: number;
  readonly manifest: Buffer;
}

export class TestRegistry {
  /** host:port, the registry part of image references and GUNs. */
  readonly host: string;
  readonly url: string;
  /** Token requests the token server answered (status per request), for assertions. */
  readonly tokenRequests: Array<{ status: number; scope: string }> = [];
  #child: ChildProcess | undefined;
  #tokenServer: http.Server | undefined;
  #signToken: ((scope: string) => Promise<string>) | undefined;

  private constructor(
    readonly auth: RegistryAuth,
    readonly dir: string,
    port: number,
  ) {
    this.host = `127.0.0.1:${port}`;
    this.url = `http://${this.host}`;
  }

  static async start(auth: RegistryAuth = 'none'): Promise<TestRegistry> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-registry-'));
    const reg = new TestRegistry(auth, dir, await freePort());
    const config: Record<string, unknown> = {
      version: '0.1',
      log: { level: 'error', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: path.join(dir, 'data') }, delete: { enabled: true } },
      http: { addr: reg.host, secret: 'h16-test-secret' },
    };
    if (auth === 'token') config.auth = { token: await reg.#startTokenServer() };
    if (auth === 'basic') {
      const file = path.join(dir, 'htpasswd');
      fs.writeFileSync(file, `${REGISTRY_USER.username}:${bcrypt.hashSync(REGISTRY_USER.password, 5)}\n`);
      config.auth = { htpasswd: { realm: 'signet-test', path: file } };
    }
    const configFile = path.join(dir, 'config.yml'); // JSON is YAML
    fs.writeFileSync(configFile, JSON.stringify(config));
    const log = fs.openSync(path.join(dir, 'registry.log'), 'w');
    const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    running.add(child);
    reg.#child = child;
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      try {
        const r = await fetch(`${reg.url}/v2/`);
        if (r.status === 200 || r.status === 401) return reg;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    const text = reg.log();
    await reg.stop();
    throw new Error(`docker-registry did not start:\n${text}`);
  }

  /** Token server: Basic credentials of REGISTRY_USER get any requested actions; others get 401. */
  async #startTokenServer(): Promise<Record<string, string>> {
    const keyFile = path.join(this.dir, 'token.key');
    const certFile = path.join(this.dir, 'token.crt');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=token-issuer'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    const key = createPrivateKey(fs.readFileSync(keyFile));
    const kid = libtrustKeyId(fs.readFileSync(certFile, 'utf8'));
    this.#signToken = async (scope: string) => {
      const access = scope === '' ? [] : scope.split(' ').map((s) => {
        const [type, name, actions] = [s.slice(0, s.indexOf(':')), s.slice(s.indexOf(':') + 1, s.lastIndexOf(':')), s.slice(s.lastIndexOf(':') + 1)];
        return { type, name, actions: actions.split(',') };
      });
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ access })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(ISSUER).setSubject(REGISTRY_USER.username).setAudience(SERVICE)
        .setIssuedAt(now).setNotBefore(now - 10).setExpirationTime(now + 300).setJti(String(Math.random()))
        .sign(key);
    };
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const scope = url.searchParams.getAll('scope').join(' ');
      const expected = 'Basic ' + Buffer.from(`${REGISTRY_USER.username}:${REGISTRY_USER.password}`).toString('base64');
      if (req.headers.authorization !== expected || url.searchParams.get('service') !== SERVICE) {
        this.tokenRequests.push({ status: 401, scope });
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      this.tokenRequests.push({ status: 200, scope });
      void this.#signToken!(scope).then((token) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#tokenServer = server;
    const realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    return { realm, service: SERVICE, issuer: ISSUER, rootcertbundle: certFile };
  }

  /** The Authorization header the test itself pushes with. */
  async #authorization(repository: string): Promise<Record<string, string>> {
    if (this.auth === 'token') return { authorization: `Bearer ${await this.#signToken!(`repository:${repository}:pull,push`)}` };
    if (this.auth === 'basic') return { authorization: 'Basic ' + Buffer.from(`${REGISTRY_USER.username}:${REGISTRY_USER.password}`).toString('base64') };
    return {};
  }

  async #pushBlob(repository: string, content: Buffer): Promise<string> {
    const auth = await this.#authorization(repository);
    const digest = 'sha256:' + createHash('sha256').update(content).digest('hex');
    const start = await fetch(`${this.url}/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: auth });
    if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location') ?? '', this.url);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: content });
    if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
    return digest;
  }

  /** Push a config blob, one layer and a manifest of `mediaType` under `tag`; `salt` makes distinct images. */
  async pushImage(repository: string, tag: string, salt = '', mediaType: 'docker' | 'oci' = 'docker'): Promise<PushedImage> {
    const layer = Buffer.from(`layer bytes ${salt}\n`);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(layer).digest('hex')}`] }, salt }));
    const configDigest = await this.#pushBlob(repository, config);
    const layerDigest = await this.#pushBlob(repository, layer);
    const oci = mediaType === 'oci';
    const type = oci ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json';
    const manifest = Buffer.from(
      JSON.stringify(
        {
          schemaVersion: 2,
          mediaType: type,
          config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configDigest },
          layers: [{ mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar' : 'application/vnd.docker.image.rootfs.diff.tar', size: layer.length, digest: layerDigest }],
        },
        null,
        3,
      ),
    );
    const put = await fetch(`${this.url}/v2/${repository}/manifests/${tag}`, { method: 'PUT', headers: { ...(await this.#authorization(repository)), 'content-type': type }, body: manifest });
    if (put.status !== 201) throw new Error(`manifest put: ${put.status} ${await put.text()}`);
    const digest = 'sha256:' + createHash('sha256').update(manifest).digest('hex');
    if (put.headers.get('docker-content-digest') !== digest) throw new Error(`registry digest ${put.headers.get('docker-content-digest')} != ${digest}`);
    return { digest, size: manifest.length, manifest };
  }

  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'registry.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (child !== undefined) running.delete(child);
    if (this.#tokenServer !== undefined) {
      this.#tokenServer.closeAllConnections();
      await new Promise<void>((resolve) => this.#tokenServer!.close(() => resolve()));
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// SPDX-License-Identifier: Apache-2.0
// HTTP_PROXY / HTTPS_PROXY / NO_PROXY (client/proxy.ts, client/http-transport.ts):
// the rules as Go's http.ProxyFromEnvironment reads them, and requests through a
// real forwarding proxy written here (absolute-form GET/POST and CONNECT). The
// targets are named `trust.internal`, a name only the proxy resolves (to
// 127.0.0.1): loopback hosts are never proxied, as in Go, and a request that
// reaches the server under that name can only have gone through the proxy.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHttpSend, type HttpRequest } from '../../client/http-transport.js';
import { proxyRules, type ProxyEnv } from '../../client/proxy.js';
import { ConfigError, RemoteError } from '../../shared/errors.js';
import { signet } from './support/cli-run.js';
import { startNotaryServer, type NotaryServer } from './support/notary.js';
import { startStub, type Stub } from './support/http-stub.js';

const NAME = 'trust.internal';

interface Passed {
  kind: 'GET' | 'CONNECT';
  /** The request target as the proxy read it: absolute URL or host:port. */
  target: string;
  method: string;
  headers: http.IncomingHttpHeaders;
  /** CONNECT: the first bytes the client sent through the tunnel. */
  firstBytes?: Buffer;
}

interface TestProxy {
  /** http(s)://127.0.0.1:port, without credentials. */
  url: string;
  port: number;
  passed: Passed[];
  close(): Promise<void>;
}

/**
 * A forwarding proxy: absolute-form requests are forwarded, CONNECT opens a tunnel;
 * `trust.internal` resolves to 127.0.0.1. `auth` (user:password) makes it answer 407
 * without that Proxy-Authorization; `refuseConnect` answers CONNECT with that status.
 */
async function startProxy(opts: { auth?: string; refuseConnect?: number; tls?: https.ServerOptions } = {}): Promise<TestProxy> {
  const passed: Passed[] = [];
  // Tunnels leave the HTTP server's hands: closed here with it.
  const tunnels = new Set<net.Socket>();
  const resolve = (host: string): string => (host === NAME ? '127.0.0.1' : host);
  const authorized = (headers: http.IncomingHttpHeaders): boolean =>
    opts.auth === undefined || headers['proxy-authorization'] === `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  const server = opts.tls === undefined ? http.createServer() : https.createServer(opts.tls);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    passed.push({ kind: 'GET', target: req.url ?? '', method: req.method ?? '', headers: req.headers });
    if (!authorized(req.headers)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end('proxy auth required');
      return;
    }
    const target = new URL(req.url ?? '/');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = http.request({ host: resolve(target.hostname), port: target.port, method: req.method, path: `${target.pathname}${target.search}`, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const entry: Passed = { kind: 'CONNECT', target: req.url ?? '', method: 'CONNECT', headers: req.headers };
    passed.push(entry);
    tunnels.add(client);
    client.once('data', (b: Buffer) => {
      entry.firstBytes = b;
    });
    if (!authorized(req.headers)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (opts.refuseConnect !== undefined) {
      client.end(`HTTP/1.1 ${opts.refuseConnect} ${http.STATUS_CODES[opts.refuseConnect] ?? ''}\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const [host, port] = [(req.url ?? '').replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(req.url ?? '')?.[1])];
    const upstream = net.connect(port, resolve(host), () => {
      tunnels.add(upstream);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${opts.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    passed,
    close: () =>
      new Promise<void>((r) => {
        for (const s of tunnels) s.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const get = (url: string, timeoutMs = 5000): HttpRequest => ({ method: 'GET', url: new URL(url), maxBytes: 1 << 20, timeoutMs });
const withName = (url: string): string => url.replace('127.0.0.1', NAME);
const isRemote = (code: string, re: RegExp) => (e: unknown): boolean => {
  if (!(e instanceof RemoteError) || e.code !== code) return false;
  assert.match(e.message, re);
  return true;
};

describe('proxy rules (Go http.ProxyFromEnvironment)', () => {
  const route = (env: ProxyEnv, url: string): string | undefined => {
    const d = proxyRules(env).decide(new URL(url));
    return d.proxy === undefined ? undefined : `${d.proxy.label} ${d.proxy.variable}`;
  };
  const P = 'http://proxy:3128';

  it('uses HTTP_PROXY for http and HTTPS_PROXY for https, upper case first, without falling back', () => {
    assert.equal(route({ HTTP_PROXY: P }, 'http://a.example/'), 'http://proxy:3128 HTTP_PROXY');
    assert.equal(route({ HTTP_PROXY: P }, 'https://a.example/'), undefined);
    assert.equal(route({ https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:2' }, 'https://a.example/'), 'http://up:2 HTTPS_PROXY');
    assert.equal(route({ https_proxy: 'http://low:1', HTTPS_PROXY: '' }, 'https://a.example/'), 'http://low:1 https_proxy');
    assert.equal(route({ ALL_PROXY: P }, 'https://a.example/'), undefined);
  });

  it('reads a value without a scheme as http://, credentials included', () => {
    assert.equal(route({ HTTPS_PROXY: 'proxy.corp:3128' }, 'https://a.example/'), 'http://proxy.corp:3128 HTTPS_PROXY');
    const d = proxyRules({ HTTPS_PROXY: 'alice:s%40cret@10.0.0.1:8080' }).decide(new URL('https://a.example/'));
    assert.equal(d.proxy?.label, 'http://10.0.0.1:8080');
    assert.equal(d.proxy?.authorization, `Basic ${Buffer.from('alice:s@cret').toString('base64')}`);
  });

  it('never proxies localhost or loopback IPs', () => {
    for (const u of ['https://localhost:4443/', 'https://127.0.0.1/', 'https://127.9.9.9:1/', 'https://[::1]:4443/']) assert.equal(route({ HTTPS_PROXY: P }, u), undefined, u);
    assert.equal(route({ HTTPS_PROXY: P }, 'https://10.0.0.1/'), 'http://proxy:3128 HTTPS_PROXY');
  });

  it('bypasses what NO_PROXY names: *, hosts with their subdomains, .suffixes, ports, IPs and CIDRs', () => {
    const env = (no: string): ProxyEnv => ({ HTTPS_PROXY: P, NO_PROXY: no });
    const direct = (no: string, url: string): void => assert.equal(route(env(no), url), undefined, `${no} should bypass ${url}`);
    const proxied = (no: string, url: string): void => assert.notEqual(route(env(no), url), undefined, `${no} should not bypass ${url}`);
    direct('*', 'https://anything.example/');
    direct('other.example, example.com', 'https://example.com/');
    direct('example.com', 'https://notary.EXAMPLE.com/');
    proxied('example.com', 'https://badexample.com/');
    proxied('.example.com', 'https://example.com/');
    direct('.example.com', 'https://a.example.com/');
    direct('*.example.com', 'https://a.example.com/');
    proxied('*.example.com', 'https://example.com/');
    direct('example.com:443', 'https://example.com/');
    proxied('example.com:4443', 'https://example.com/');
    direct('example.com:4443', 'https://example.com:4443/');
    direct('10.1.2.3', 'https://10.1.2.3:4443/');
    proxied('10.1.2.3:443', 'https://10.1.2.3:4443/');
    direct('10.0.0.0/8', 'https://10.200.0.1/');
    proxied('10.0.0.0/8', 'https://11.0.0.1/');
    direct('fd00::/8', 'https://[fd12::1]/');
    direct('[fd00::2]:443', 'https://[fd00::2]/');
    proxied('10.0.0.0/8', 'https://ten.example/');
    proxied('', 'https://x.example/');
    proxied(' , ', 'https://x.example/');
    assert.equal(route({ HTTPS_PROXY: P, no_proxy: 'example.com' }, 'https://example.com/'), undefined);
  });

  it('refuses a socks5 or unparseable proxy variable without repeating its value', () => {
    assert.throws(() => proxyRules({ HTTPS_PROXY: 'socks5://u:pw@proxy:1080' }).decide(new URL('https://a.example/')), (e: unknown) => e instanceof ConfigError && /HTTPS_PROXY names a socks5 proxy/.test(e.message) && !e.message.includes('pw'));
    assert.throws(() => proxyRules({ HTTP_PROXY: 'http://u:pw@[bad' }).decide(new URL('http://a.example/')), (e: unknown) => e instanceof ConfigError && /HTTP_PROXY is not a proxy URL/.test(e.message) && !e.message.includes('pw'));
    // only a request that would use it is refused: loopback and NO_PROXY hosts still connect directly, as in Go
    const socks = proxyRules({ HTTP_PROXY: 'socks5://proxy.corp:1080', NO_PROXY: 'trust.internal' });
    assert.equal(socks.decide(new URL('http://127.0.0.1:4443/')).proxy, undefined);
    assert.equal(socks.decide(new URL('http://trust.internal/')).proxy, undefined);
  });
});

describe('plain http through a proxy, against notary-server', () => {
  let server: NotaryServer;
  let proxy: TestProxy;
  let authProxy: TestProxy;
  before(async () => {
    server = await startNotaryServer();
    proxy = await startProxy();
    authProxy = await startProxy({ auth: 'alice:s3cret' });
  });
  after(async () => {
    await proxy.close();
    await authProxy.close();
    await server.stop();
  });

  it('sends an absolute-form request to HTTP_PROXY', async () => {
    proxy.passed.length = 0;
    const send = createHttpSend(undefined, { env: { HTTP_PROXY: proxy.url } });
    const res = await send(get(`${withName(server.url)}/v2/`));
    assert.equal(res.status, 200);
    assert.equal(proxy.passed.length, 1);
    assert.deepEqual([proxy.passed[0]!.kind, proxy.passed[0]!.target, proxy.passed[0]!.headers.host], ['GET', `${withName(server.url)}/v2/`, new URL(withName(server.url)).host]);
  });

  it('runs the CLI (init, publish, list) through the proxy, with Proxy-Authorization and no credentials in -D output', async () => {
    authProxy.passed.length = 0;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-proxy-'));
    try {
      const proxyUrl = authProxy.url.replace('//', '//alice:s3cret@');
      const env = { HTTP_PROXY: proxyUrl };
      const base = ['-d', dir, '-s', withName(server.url), '-D'];
      const init = await signet([...base, 'init', 'example.com/proxied', '-p'], { env });
      assert.equal(init.code, 0, init.stderr);
      assert.match(init.stderr, new RegExp(`http://${NAME}:\\d+: connecting through the proxy ${authProxy.url.replace(/[./]/g, '\\$&')} \\(from HTTP_PROXY\\)`));
      const list = await signet([...base, 'list', 'example.com/proxied'], { env });
      assert.equal(list.code, 0, list.stderr);
      const methods = new Set(authProxy.passed.map((p) => p.method));
      assert.ok(methods.has('GET') && methods.has('POST'), [...methods].join());
      for (const p of authProxy.passed) {
        assert.match(p.target, new RegExp(`^http://${NAME}:\\d+/v2/`));
        assert.equal(p.headers['proxy-authorization'], `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
      }
      for (const out of [init.stdout, init.stderr, list.stdout, list.stderr]) assert.ok(!out.includes('s3cret') && !out.includes('alice'), out);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the proxy, not its password, when it answers 407', async () => {
    const send = createHttpSend(undefined, { env: { http_proxy: authProxy.url.replace('//', '//alice:wrong@') } });
    await assert.rejects(send(get(`${withName(server.url)}/v2/`)), (e: unknown) => {
      assert.ok(isRemote('NETWORK', new RegExp(`the proxy ${authProxy.url} \\(from http_proxy\\) refused .*407.*check the user and password in http_proxy`))(e));
      assert.equal((e as RemoteError).httpStatus, 407);
      assert.ok(!(e as Error).message.includes('wrong'));
      return true;
    });
  });

  it('names an unreachable proxy without its credentials', async () => {
    const send = createHttpSend(undefined, { env: { HTTP_PROXY: 'http://alice:s3cret@127.0.0.1:9' } });
    await assert.rejects(send(get(`http://${NAME}:4443/v2/`)), (e: unknown) => {
      assert.ok(isRemote('NETWORK', /cannot reach the proxy http:\/\/127\.0\.0\.1:9 \(from HTTP_PROXY\) for http:\/\/trust\.internal:4443 \(ECONNREFUSED.*check HTTP_PROXY/)(e));
      assert.ok(!(e as Error).message.includes('s3cret'));
      return true;
    });
  });

  it('goes directly to loopback hosts, whatever HTTP_PROXY says', async () => {
    proxy.passed.length = 0;
    const send = createHttpSend(undefined, { env: { HTTP_PROXY: proxy.url } });
    assert.equal((await send(get(`${server.url}/v2/`))).status, 200);
    assert.equal((await send(get(`${server.url.replace('127.0.0.1', 'localhost')}/v2/`))).status, 200);
    assert.deepEqual(proxy.passed, []);
  });

  it('goes directly to a host NO_PROXY names (trust.internal is then not found)', async () => {
    proxy.passed.length = 0;
    for (const no of [NAME, `.internal`, `foo.example,${NAME}:${new URL(server.url).port}`, '*']) {
      const send = createHttpSend(undefined, { env: { HTTP_PROXY: proxy.url, NO_PROXY: no } });
      await assert.rejects(send(get(`${withName(server.url)}/v2/`)), isRemote('NETWORK', /cannot reach the trust server at http:\/\/trust\.internal:\d+ \((ENOTFOUND|EAI_AGAIN)/));
    }
    assert.deepEqual(proxy.passed, []);
    const other = createHttpSend(undefined, { env: { HTTP_PROXY: proxy.url, NO_PROXY: `${NAME}:1` } });
    assert.equal((await other(get(`${withName(server.url)}/v2/`))).status, 200, 'a NO_PROXY entry for another port does not apply');
    assert.equal(proxy.passed.length, 1);
  });

  it('goes directly to an IP in a NO_PROXY CIDR (a non-loopback address of this machine)', async (t) => {
    const ip = Object.values(os.networkInterfaces()).flat().find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
    if (ip === undefined) return t.skip('no non-loopback IPv4 address');
    const stub = await startStub((_req, res) => res.end('direct'), undefined, '0.0.0.0');
    try {
      proxy.passed.length = 0;
      const url = stub.url.replace('127.0.0.1', ip);
      const proxied = createHttpSend(undefined, { env: { HTTP_PROXY: proxy.url } });
      assert.equal((await proxied(get(url))).body.toString(), 'direct');
      assert.equal(proxy.passed.length, 1, 'without NO_PROXY the proxy carries it');
      const direct = createHttpSend(undefined, { env: { HTTP_PROXY: proxy.url, NO_PROXY: `${ip.split('.').slice(0, 3).join('.')}.0/24` } });
      assert.equal((await direct(get(url))).body.toString(), 'direct');
      assert.equal(proxy.passed.length, 1, 'with NO_PROXY it does not');
    } finally {
      await stub.close();
    }
  });
});

describe('https through a CONNECT tunnel', () => {
  let dir = '';
  let stub: Stub;
  let wrongName: Stub;
  let proxy: TestProxy;
  const file = (f: string): string => path.join(dir, f);
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-proxy-tls-'));
    const ssl = (args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    ssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=signet test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    for (const [name, san] of [['server', `DNS:${NAME}`], ['other', 'DNS:other.internal'], ['proxy', 'IP:127.0.0.1']] as const) {
      ssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
      fs.writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\n`);
      ssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
    }
    ssl(['req', '-x509', ...ec, '-keyout', 'client.key', '-out', 'client.crt', '-days', '2', '-subj', '/CN=client']);
    const read = (f: string): Buffer => fs.readFileSync(file(f));
    stub = await startStub((req, res) => res.end(`hello over tls ${req.url}`), { key: read('server.key'), cert: read('server.crt'), ca: read('client.crt'), requestCert: true, rejectUnauthorized: true });
    wrongName = await startStub((_req, res) => res.end('should not be trusted'), { key: read('other.key'), cert: read('other.crt') });
    proxy = await startProxy({ auth: 'bob:pa55' });
  });
  after(async () => {
    await proxy.close();
    await stub.close();
    await wrongName.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const tlsConfig = () => ({ caFile: file('ca.crt'), certFile: file('client.crt'), keyFile: file('client.key'), skipVerify: false });
  const proxyEnv = (auth = 'bob:pa55') => ({ HTTPS_PROXY: proxy.url.replace('//', `//${auth}@`) });

  it('tunnels with CONNECT and keeps TLS end to end (CA bundle, client certificate, host name)', async () => {
    proxy.passed.length = 0;
    const send = createHttpSend(tlsConfig(), { env: proxyEnv() });
    const res = await send(get(`${withName(stub.url)}/v2/`));
    assert.equal(res.body.toString(), 'hello over tls /v2/');
    assert.equal((await send(get(`${withName(stub.url)}/v2/again`))).body.toString(), 'hello over tls /v2/again');
    const connects = proxy.passed.filter((p) => p.kind === 'CONNECT');
    assert.ok(connects.length >= 1 && connects.length === proxy.passed.length, 'only CONNECTs reach the proxy');
    assert.equal(connects[0]!.target, new URL(withName(stub.url)).host);
    assert.equal(connects[0]!.headers['proxy-authorization'], `Basic ${Buffer.from('bob:pa55').toString('base64')}`);
    const first = connects[0]!.firstBytes!;
    assert.equal(first[0], 0x16, 'the tunnel carries a TLS handshake');
    assert.ok(first.toString('latin1').includes(NAME), 'SNI names the target');
    assert.ok(!first.toString('latin1').includes('/v2/'), 'no plaintext request passes the proxy');
  });

  it('checks the target name through the tunnel', async () => {
    const send = createHttpSend(tlsConfig(), { env: proxyEnv() });
    await assert.rejects(send(get(`${withName(wrongName.url)}/v2/`)), isRemote('NETWORK', /cannot reach the trust server at https:\/\/trust\.internal:\d+ through the proxy http:\/\/127\.0\.0\.1:\d+ \(ERR_TLS_CERT_ALTNAME_INVALID.*tlscacert/));
  });

  it('reports a refused CONNECT naming the proxy and what to check', async () => {
    const send = createHttpSend(tlsConfig(), { env: proxyEnv('bob:nope') });
    await assert.rejects(send(get(`${withName(stub.url)}/v2/`)), (e: unknown) => {
      assert.ok(isRemote('NETWORK', new RegExp(`^the proxy ${proxy.url} \\(from HTTPS_PROXY\\) refused to connect to https://${NAME}:\\d+ \\(407 Proxy Authentication Required\\); check the user and password in HTTPS_PROXY`))(e));
      assert.ok(!(e as Error).message.includes('nope'));
      return true;
    });
    const forbidding = await startProxy({ refuseConnect: 403 });
    try {
      const refused = createHttpSend(tlsConfig(), { env: { HTTPS_PROXY: forbidding.url } });
      await assert.rejects(refused(get(`${withName(stub.url)}/v2/`)), isRemote('NETWORK', /refused to connect to https:\/\/trust\.internal:\d+ \(403 Forbidden\); check that the proxy lets this host through, or add the host to NO_PROXY/));
    } finally {
      await forbidding.close();
    }
  });

  it('reaches the target through an https:// proxy, verified with the same CA bundle', async () => {
    const tlsProxy = await startProxy({ tls: { key: fs.readFileSync(file('proxy.key')), cert: fs.readFileSync(file('proxy.crt')) } });
    try {
      const send = createHttpSend(tlsConfig(), { env: { HTTPS_PROXY: tlsProxy.url } });
      assert.equal((await send(get(`${withName(stub.url)}/v2/`))).body.toString(), 'hello over tls /v2/');
      assert.equal(tlsProxy.passed[0]?.kind, 'CONNECT');
    } finally {
      await tlsProxy.close();
    }
  });

  it('works from the bundled executable, which then exits', { timeout: 30_000 }, async () => {
    const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'signet.cjs');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-proxy-bin-'));
    proxy.passed.length = 0;
    try {
      const args = ['-d', home, '-s', withName(stub.url), '--tlscacert', file('ca.crt'), '--tlscert', file('client.crt'), '--tlskey', file('client.key'), '-D', 'list', 'example.com/none'];
      const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', HOME: home, CI: 'true', ...proxyEnv() } });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      // The stub answers every path with 200 and a non-JSON body: the run fails after talking to it through the tunnel.
      assert.notEqual(code, null);
      assert.match(stderr, new RegExp(`https://${NAME}:\\d+: connecting through the proxy ${proxy.url.replace(/[./]/g, '\\$&')} \\(from HTTPS_PROXY\\)`));
      assert.ok(!stderr.includes('pa55'), stderr);
      assert.ok(proxy.passed.some((p) => p.kind === 'CONNECT'));
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

// SPDX-License-Identifier: Apache-2.0
// HTTP_PROXY / HTTPS_PROXY / NO_PROXY for the CLI's transport, read the way
// notary 0.7 reads them (Go 1.19's http.ProxyFromEnvironment, i.e.
// golang.org/x/net/http/httpproxy):
//   - http:// URLs use HTTP_PROXY, https:// URLs HTTPS_PROXY (no fallback from
//     one to the other, no ALL_PROXY); the upper-case name wins over the
//     lower-case one, an empty value counts as unset;
//   - a proxy value without a scheme (`proxy:3128`, `user:pw@proxy:3128`) means
//     http://; http:// and https:// proxies are supported (socks5, which Go
//     also takes, is refused with a message, and so is a value that is no URL,
//     which Go ignores);
//   - never proxied: `localhost` and loopback IPs (127.0.0.0/8, ::1), whatever
//     the variables say;
//   - NO_PROXY is a comma list: `*` (nothing is proxied), an IP or CIDR
//     (`10.1.2.3`, `10.0.0.0/8`, `fd00::/8`), a host name matching itself and its
//     subdomains (`example.com`), a leading `.` or `*.` matching subdomains only;
//     host names and IPs may carry a `:port` (`example.com:4443`, `[::1]:443`),
//     matched against the URL's port or its scheme's default port.
// Credentials in a proxy URL become a Proxy-Authorization: Basic header; the
// proxy is named everywhere else (messages, -D) by scheme and host alone.
// Loaded by http-transport.ts only when a proxy variable is set, so runs
// without one never evaluate this module or load node:tls and node:https.
// Hand-written rather than proxy-from-env + https-proxy-agent: proxy-from-env
// reads only process.env and differs from Go (lower-case first, ALL_PROXY, no
// subdomain match for `example.com`, no CIDRs, no loopback rule); the agent
// package (ESM-only, four packages with `debug`, which prints the proxy URL with
// its password under DEBUG=*) replays a proxy's refusal as if the trust server
// had answered it.

import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import type * as Https from 'node:https';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { domainToASCII } from 'node:url';
import { ConfigError, RemoteError } from '../shared/errors.js';

// node:https stays a lazy stand-in in the CLI bundle (scripts/bundle-cli.mjs), which exports `request` only.
const require = createRequire(import.meta.url);
const https = require('node:https') as typeof Https;

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

/** The proxy for one request. */
export interface ProxyRoute {
  /** With credentials: only for connecting. */
  readonly url: URL;
  /** scheme://host:port, without credentials: for messages and logs. */
  readonly label: string;
  /** The variable it came from (`HTTPS_PROXY`, `https_proxy`, ...). */
  readonly variable: string;
  /** `Basic ...` when the proxy URL has a user or password. */
  readonly authorization: string | undefined;
}

/** How a URL is reached: a route through a proxy, or directly and why. */
export type ProxyDecision = { readonly proxy: ProxyRoute } | { readonly proxy: undefined; readonly why: string };

export interface ProxyRules {
  decide(url: URL): ProxyDecision;
}

function envAny(env: ProxyEnv, upper: string): { name: string; value: string } | undefined {
  for (const name of [upper, upper.toLowerCase()]) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}

function parseProxy(value: string, variable: string): URL {
  try {
    const url = new URL(value.includes('://') ? value : `http://${value}`);
    if (url.hostname !== '') return url;
  } catch {
    // below
  }
  // The value is not repeated: it may hold a password.
  throw new ConfigError(`${variable} is not a proxy URL; set it to http://host:port (or unset it)`);
}

function routeOf(url: URL, variable: string): ProxyRoute {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${variable} names a ${url.protocol.slice(0, -1)} proxy; signet supports http:// and https:// proxies only`);
  }
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return {
    url,
    label: `${url.protocol}//${url.host}`,
    variable,
    authorization: user === '' && password === '' ? undefined : `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  };
}

/** A host name or IP of a URL without IPv6 brackets. */
function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function ipFamily(host: string): 'ipv4' | 'ipv6' | undefined {
  const v = net.isIP(host);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

type Matcher = (host: string, port: string, ip: 'ipv4' | 'ipv6' | undefined) => boolean;

/** NO_PROXY as Go's httpproxy parses it. */
function noProxyMatchers(noProxy: string): Matcher[] | 'all' {
  const out: Matcher[] = [];
  for (const raw of noProxy.split(',')) {
    const p = raw.trim().toLowerCase();
    if (p === '') continue;
    if (p === '*') return 'all';
    const slash = p.indexOf('/');
    if (slash > 0) {
      const base = p.slice(0, slash);
      const bits = Number(p.slice(slash + 1));
      const family = ipFamily(base);
      if (family !== undefined && /^\d+$/.test(p.slice(slash + 1)) && bits <= (family === 'ipv4' ? 32 : 128)) {
        const list = new net.BlockList();
        list.addSubnet(base, bits, family);
        out.push((host, _port, ip) => ip !== undefined && list.check(host, ip));
        continue;
      }
    }
    // host:port, [v6]:port, or a bare host / IP (a bare IPv6 has several colons)
    let phost = p;
    let pport = '';
    const m = /^\[([^\]]*)\]:(\d*)$/.exec(p) ?? /^([^:]*):(\d*)$/.exec(p);
    if (m !== null) {
      phost = m[1]!;
      pport = m[2]!;
      if (phost === '') continue;
    } else if (p.startsWith('[') && p.endsWith(']')) {
      phost = p.slice(1, -1);
    }
    const family = ipFamily(phost);
    if (family !== undefined) {
      const list = new net.BlockList();
      list.addAddress(phost, family);
      out.push((host, port, ip) => ip !== undefined && list.check(host, ip) && (pport === '' || pport === port));
      continue;
    }
    if (phost.startsWith('*.')) phost = phost.slice(1);
    const matchHost = !phost.startsWith('.');
    if (matchHost) phost = `.${phost}`;
    if (/[^\x00-\x7f]/.test(phost)) phost = `.${domainToASCII(phost.slice(1))}`;
    const suffix = phost;
    out.push((host, port) => (host.endsWith(suffix) || (matchHost && host === suffix.slice(1))) && (pport === '' || pport === port));
  }
  return out;
}

/**
 * The proxy rules of an environment.
 * @throws {ConfigError} (from `decide`) for a proxy variable that is not a URL, or names a socks5 proxy.
 */
export function proxyRules(env: ProxyEnv): ProxyRules {
  const httpProxy = envAny(env, 'HTTP_PROXY');
  const httpsProxy = envAny(env, 'HTTPS_PROXY');
  const noProxy = envAny(env, 'NO_PROXY');
  const matchers = noProxyMatchers(noProxy?.value ?? '');
  return {
    decide(url: URL): ProxyDecision {
      const chosen = url.protocol === 'https:' ? httpsProxy : url.protocol === 'http:' ? httpProxy : undefined;
      if (chosen === undefined) return { proxy: undefined, why: `no ${url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY'} set` };
      const host = bareHost(url.hostname).toLowerCase();
      const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
      const ip = ipFamily(host);
      if (host === 'localhost' || (ip !== undefined && LOOPBACK.check(host, ip))) return { proxy: undefined, why: 'loopback hosts are never proxied' };
      if (matchers === 'all' || matchers.some((m) => m(host, port, ip))) return { proxy: undefined, why: `${noProxy?.name ?? 'NO_PROXY'} matches it` };
      // parsed only for a request that would use it: a proxy signet cannot use must not break direct ones
      return { proxy: routeOf(parseProxy(chosen.value, chosen.name), chosen.name) };
    },
  };
}

/** Why a proxy refused a request, and what to check. */
export function proxyRefused(route: ProxyRoute, target: string, status: number, statusText: string): RemoteError {
  const hint =
    status === 407
      ? `check the user and password in ${route.variable} (http://user:password@host:port)`
      : `check that the proxy lets this host through, or add the host to NO_PROXY`;
  return new RemoteError('NETWORK', `the proxy ${route.label} (from ${route.variable}) refused to connect to ${target} (${status}${statusText === '' ? '' : ` ${statusText}`}); ${hint}`, { httpStatus: status });
}

/** The proxy could not be reached or broke the tunnel before it was set up. */
export function proxyUnreachable(route: ProxyRoute, target: string, cause: NodeJS.ErrnoException): RemoteError {
  const code = cause.code ?? 'error';
  const hint = code.startsWith('ERR_TLS') || /certificate|self.signed/i.test(cause.message)
    ? `check the proxy's certificate: the CA bundle (--tlscacert/remote_server.root_ca) must vouch for it too, as for notary`
    : `check ${route.variable} and that the proxy is running, or add the host to NO_PROXY`;
  return new RemoteError('NETWORK', `cannot reach the proxy ${route.label} (from ${route.variable}) for ${target} (${code}: ${cause.message}); ${hint}`, { cause });
}

/** TLS settings for an https:// proxy: Go uses the transport's TLS configuration (CA bundle, client certificate) for it too. */
function proxyTlsOptions(route: ProxyRoute, options: Https.RequestOptions): tls.ConnectionOptions {
  const host = bareHost(route.url.hostname);
  return {
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    ...(options.cert === undefined ? {} : { cert: options.cert }),
    ...(options.key === undefined ? {} : { key: options.key }),
    ...(options.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.rejectUnauthorized }),
    // An explicit name: Node would take the target's from the Host header; '' (no SNI) for an IP, checked against the IP.
    servername: net.isIP(host) === 0 ? host : '',
  };
}

/** Options of a request to `route` for a plain-http URL: absolute-form request line, Host of the target. */
export function proxiedHttpOptions(route: ProxyRoute, url: URL, options: Https.RequestOptions): Https.RequestOptions {
  const headers: Record<string, string> = { ...(options.headers as Record<string, string>), host: url.host };
  if (route.authorization !== undefined) headers['proxy-authorization'] = route.authorization;
  return {
    ...(route.url.protocol === 'https:' ? proxyTlsOptions(route, options) : {}),
    method: options.method ?? 'GET',
    protocol: route.url.protocol,
    hostname: bareHost(route.url.hostname),
    port: route.url.port !== '' ? Number(route.url.port) : route.url.protocol === 'https:' ? 443 : 80,
    path: `${url.protocol}//${url.host}${url.pathname}${url.search}`,
    headers,
  };
}

/** `proxiedHttpOptions` for the right module: node:https for an https:// proxy. */
export function requestThroughProxy(route: ProxyRoute, url: URL, options: Https.RequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
  const o = proxiedHttpOptions(route, url, options);
  return route.url.protocol === 'https:' ? https.request(o, onResponse) : http.request(o, onResponse);
}

/** Open a CONNECT tunnel to host:port through the proxy. */
function openTunnel(route: ProxyRoute, host: string, port: number, timeoutMs: number | undefined, options: Https.RequestOptions): Promise<Duplex> {
  const authority = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  const target = `https://${authority}`;
  return new Promise<Duplex>((resolve, reject) => {
    const headers: Record<string, string> = { host: authority };
    if (route.authorization !== undefined) headers['proxy-authorization'] = route.authorization;
    const connect: Https.RequestOptions = {
      method: 'CONNECT',
      hostname: bareHost(route.url.hostname),
      port: route.url.port !== '' ? Number(route.url.port) : route.url.protocol === 'https:' ? 443 : 80,
      path: authority,
      headers,
      agent: false,
    };
    const req = route.url.protocol === 'https:' ? https.request({ ...connect, ...proxyTlsOptions(route, options) }) : http.request(connect);
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => req.destroy(Object.assign(new Error(`no answer to CONNECT within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    req.once('connect', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(proxyRefused(route, target, res.statusCode ?? 0, res.statusMessage ?? ''));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.once('error', (cause: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(proxyUnreachable(route, target, cause));
    });
    req.end();
  });
}

type ConnectionCallback = (err: Error | null, stream: Duplex) => void;

/**
 * An https agent whose connections are CONNECT tunnels through `route`, with TLS
 * end to end to the target (the request's CA bundle, client certificate and
 * host name check). Keep-alive: a run reuses its tunnels like direct connections.
 */
function tunnelAgent(route: ProxyRoute): Https.Agent {
  class TunnelAgent extends https.Agent {
    override createConnection(options: Https.RequestOptions, callback?: ConnectionCallback): Duplex | null | undefined {
      const host = bareHost(options.host ?? options.hostname ?? 'localhost');
      const port = Number(options.port ?? 443);
      // Node ignores the stream argument of a failure.
      const failed = (e: Error): void => (callback as ((err: Error) => void) | undefined)?.(e);
      openTunnel(route, host, port, options.timeout, options).then(
        (socket) => {
          let secured: Duplex;
          try {
            secured = super.createConnection({ ...options, socket } as Https.RequestOptions)!;
          } catch (e) {
            socket.destroy();
            failed(e as Error);
            return;
          }
          callback?.(null, secured);
        },
        failed,
      );
      return undefined;
    }
  }
  return new TunnelAgent({ keepAlive: true });
}

const agents = new Map<string, Https.Agent>();

/** The tunnel agent of a proxy (one per proxy URL and process; connections are keyed by target and TLS options). */
export function agentFor(route: ProxyRoute): Https.Agent {
  const key = route.url.href;
  let agent = agents.get(key);
  if (agent === undefined) {
    agent = tunnelAgent(route);
    agents.set(key, agent);
  }
  return agent;
}

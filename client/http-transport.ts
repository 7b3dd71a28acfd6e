// SPDX-License-Identifier: Apache-2.0
// One HTTP exchange with a trust server or token realm, on node:http(s).
// (Node 20's global fetch cannot take a CA bundle or client certificate
// without the undici package, so the transport uses node:https directly.)
// Guarantees:
//   - an overall deadline per exchange (connect + headers + body);
//   - a size cap on successful bodies: a larger Content-Length is refused
//     before reading, a body that grows past the cap is cut off and refused
//     (SECURITY: endless-data attack); error bodies are read up to a small cap
//     and truncated, since they are only used for messages;
//   - TLS: a configured CA bundle replaces the system roots (Go's
//     ExclusiveRootPools), optional client certificate, optional skip-verify;
//   - no redirects are followed (notary's metadata client does not either);
//   - HTTP_PROXY / HTTPS_PROXY / NO_PROXY as notary (Go) reads them (client/proxy.ts):
//     plain http goes to the proxy as an absolute-form request, https through a
//     CONNECT tunnel with TLS still end to end; loopback hosts are never proxied.

import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
// node:https (with node:tls) takes ~4 ms to load: in the CLI bundle `request` is a stand-in that
// loads it on first use (scripts/bundle-cli.mjs), so only a run that talks TLS pays for it.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { ConfigError, RemoteError } from '../shared/errors.js';
import type { TlsConfig } from './config.js';
import type * as ProxyModule from './proxy.js';
import type * as Tls from 'node:tls';

// node:tls is loaded only when TLS client files are configured (start-up time).
const require = createRequire(import.meta.url);

/** Error bodies are only read for their message. */
export const MAX_ERROR_BODY = 16 * 1024;

export interface HttpRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** Cap for a 2xx body. */
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export type HttpSend = (req: HttpRequest) => Promise<HttpResponse>;

export interface HttpSendOptions {
  /** Where HTTP_PROXY / HTTPS_PROXY / NO_PROXY are read; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** -D: how each origin is reached (directly or through which proxy), once per origin; only when a proxy variable is set. */
  readonly debug?: (message: string) => void;
}

/** Any of these set (non-empty) loads the proxy rules; without them no proxy code runs. */
const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'] as const;

/** A request's proxy and the module that talks to it. */
interface Via {
  readonly proxy: typeof ProxyModule;
  readonly route: ProxyModule.ProxyRoute;
}

function readFileFor(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (cause) {
    throw new ConfigError(`cannot read the ${what} ${file}; fix the path in the config file or flag`, { cause });
  }
}

function opensslCode(cause: unknown): string {
  return cause instanceof Error ? String((cause as NodeJS.ErrnoException).code ?? '') : '';
}

function opensslMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * Check the TLS client certificate and key once, up front, the way a TLS connection would load them.
 * @throws {ConfigError} naming the file and what is wrong with it.
 */
function checkClientIdentity(certFile: string, cert: Buffer, keyFile: string, key: Buffer): void {
  const tls = require('node:tls') as typeof Tls;
  const certText = cert.toString('latin1');
  const keyText = key.toString('latin1');
  const remedy = 'fix --tlscert/--tlskey (or remote_server.tls_client_cert/tls_client_key)';
  try {
    tls.createSecureContext({ cert });
  } catch (cause) {
    const swapped = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(certText) && /-----BEGIN CERTIFICATE-----/.test(keyText);
    const problem = swapped
      ? 'holds a private key, not a PEM certificate (are the certificate and key swapped?)'
      : /-----BEGIN CERTIFICATE-----/.test(certText)
        ? `is not a usable PEM certificate (${opensslMessage(cause)})`
        : 'is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)';
    throw new ConfigError(`the TLS client certificate ${certFile} ${problem}; ${remedy}`, { cause });
  }
  try {
    tls.createSecureContext({ key });
  } catch (cause) {
    const code = opensslCode(cause);
    const problem = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyText) || /BAD_DECRYPT|decrypt|passphrase/i.test(`${code} ${opensslMessage(cause)}`)
      ? 'is encrypted: encrypted keys are not supported; decrypt it (e.g. openssl pkey -in KEY -out KEY.plain)'
      : /-----BEGIN CERTIFICATE-----/.test(keyText) && !/PRIVATE KEY-----/.test(keyText)
        ? 'holds a certificate, not a PEM private key'
        : /PRIVATE KEY-----/.test(keyText)
          ? `is not a usable PEM private key (${opensslMessage(cause)})`
          : 'is not a PEM private key (no -----BEGIN PRIVATE KEY----- block)';
    throw new ConfigError(`the TLS client key ${keyFile} ${problem}; ${remedy}`, { cause });
  }
  try {
    tls.createSecureContext({ cert, key });
  } catch (cause) {
    const problem = /KEY_VALUES_MISMATCH/.test(opensslCode(cause)) || /mismatch/i.test(opensslMessage(cause))
      ? 'the key does not match the certificate'
      : `they cannot be used together (${opensslMessage(cause)})`;
    throw new ConfigError(`the TLS client certificate ${certFile} and key ${keyFile}: ${problem}; ${remedy}`, { cause });
  }
}

function where(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/**
 * Create the sender used for every request of one CLI run.
 * @throws {ConfigError} when a TLS file cannot be read, or the client certificate and key are unusable
 *   (not PEM, encrypted, not matching); (from the sender) when a proxy variable is unusable.
 */
export function createHttpSend(tls: TlsConfig = { skipVerify: false }, sendOptions: HttpSendOptions = {}): HttpSend {
  const tlsOptions: RequestOptions = { rejectUnauthorized: !tls.skipVerify };
  if (tls.caFile !== undefined) tlsOptions.ca = readFileFor(tls.caFile, 'TLS CA bundle');
  if (tls.certFile !== undefined) tlsOptions.cert = readFileFor(tls.certFile, 'TLS client certificate');
  if (tls.keyFile !== undefined) tlsOptions.key = readFileFor(tls.keyFile, 'TLS client key');
  if (tls.certFile !== undefined && tls.keyFile !== undefined && Buffer.isBuffer(tlsOptions.cert) && Buffer.isBuffer(tlsOptions.key)) {
    checkClientIdentity(tls.certFile, tlsOptions.cert, tls.keyFile, tlsOptions.key);
  }

  const env = sendOptions.env ?? process.env;
  if (!PROXY_VARIABLES.some((name) => (env[name] ?? '') !== '')) return (req) => exchange(req, tlsOptions, undefined);
  // esbuild bundles this import and evaluates the module on first use only.
  let rules: Promise<{ proxy: typeof ProxyModule; rules: ProxyModule.ProxyRules }> | undefined;
  const told = new Set<string>();
  const viaFor = async (url: URL): Promise<Via | undefined> => {
    rules ??= import('./proxy.js').then((proxy) => ({ proxy, rules: proxy.proxyRules(env) }));
    const { proxy, rules: r } = await rules;
    const decision = r.decide(url);
    if (sendOptions.debug !== undefined && !told.has(url.origin)) {
      told.add(url.origin);
      sendOptions.debug(
        decision.proxy === undefined
          ? `${where(url)}: connecting directly (${decision.why})`
          : `${where(url)}: connecting through the proxy ${decision.proxy.label} (from ${decision.proxy.variable})`,
      );
    }
    return decision.proxy === undefined ? undefined : { proxy, route: decision.proxy };
  };
  return async (req) => exchange(req, tlsOptions, await viaFor(req.url));
}

function exchange(req: HttpRequest, tlsOptions: RequestOptions, via: Via | undefined): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    const isHttps = req.url.protocol === 'https:';
    const through = via === undefined ? '' : ` through the proxy ${via.route.label}`;
    const headers: Record<string, string> = { 'user-agent': 'signet', ...req.headers };
    if (req.body !== undefined) headers['content-length'] = String(req.body.length);
    const options: RequestOptions = { method: req.method, headers, ...(isHttps ? tlsOptions : {}) };
    let settled = false;
    const fail = (e: RemoteError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(e);
    };
    const onResponse = (res: http.IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      if (via !== undefined && !isHttps && status === 407) {
        // Only a proxy answers 407 (an https request meets it at CONNECT, in client/proxy.ts).
        fail(via.proxy.proxyRefused(via.route, where(req.url), status, res.statusMessage ?? ''));
        return;
      }
      const ok = status >= 200 && status < 300;
      const cap = ok ? req.maxBytes : MAX_ERROR_BODY;
      const declared = Number(res.headers['content-length']);
      if (ok && Number.isFinite(declared) && declared > cap) {
        fail(new RemoteError('RESPONSE_TOO_LARGE', `${where(req.url)} announced ${declared} bytes for ${req.url.pathname}, more than the ${cap} allowed; the server may be malicious`, { httpStatus: status }));
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        const room = cap - total;
        if (chunk.length > room) {
          if (ok) {
            fail(new RemoteError('RESPONSE_TOO_LARGE', `${where(req.url)} sent more than the ${cap} bytes allowed for ${req.url.pathname}; the server may be malicious`, { httpStatus: status }));
            return;
          }
          chunks.push(chunk.subarray(0, room));
          total = cap;
          return;
        }
        chunks.push(chunk);
        total += chunk.length;
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (cause) => fail(new RemoteError('NETWORK', `connection to ${where(req.url)}${through} broke while reading ${req.url.pathname}`, { cause })));
    };
    let request: http.ClientRequest;
    try {
      request =
        via === undefined
          ? (isHttps ? httpsRequest : http.request)(req.url, options, onResponse)
          : isHttps
            ? httpsRequest(req.url, { ...options, agent: via.proxy.agentFor(via.route), timeout: req.timeoutMs }, onResponse)
            : via.proxy.requestThroughProxy(via.route, req.url, options, onResponse);
    } catch (cause) {
      // Building the request failed before any connection (TLS options node rejects, a bad URL or header).
      settled = true;
      if (cause instanceof RemoteError || cause instanceof ConfigError) reject(cause);
      else {
        const tlsHint = isHttps && /^ERR_OSSL|^ERR_TLS/.test(opensslCode(cause))
          ? 'check --tlscert/--tlskey/--tlscacert (or the remote_server TLS settings)'
          : 'check -s/remote_server.url';
        reject(new RemoteError('NETWORK', `cannot send ${req.method} ${req.url.pathname} to ${where(req.url)}${through} (${opensslMessage(cause)}); ${tlsHint}`, { cause }));
      }
      return;
    }
    const timer = setTimeout(() => {
      fail(new RemoteError('TIMEOUT', `${where(req.url)}${through} did not answer ${req.method} ${req.url.pathname} within ${req.timeoutMs} ms; check the server${via === undefined ? '' : ' and the proxy'} or retry`));
    }, req.timeoutMs);
    request.on('error', (cause: NodeJS.ErrnoException) => {
      // The proxy refused the tunnel or could not be reached (client/proxy.ts says which, naming it).
      if (cause instanceof RemoteError) return fail(cause);
      if (via !== undefined && !isHttps) return fail(via.proxy.proxyUnreachable(via.route, where(req.url), cause));
      const code = cause.code ?? 'error';
      const hint = /CERTIFICATE_REQUIRED/.test(code) || /certificate required/i.test(cause.message)
        ? 'the server wants a client certificate: give --tlscert and --tlskey (or remote_server.tls_client_cert/tls_client_key)'
        : code.startsWith('ERR_TLS') || /certificate|self.signed/i.test(cause.message)
          ? 'check the server certificate and --tlscacert/remote_server.root_ca'
          : 'check -s/remote_server.url and that the server is running';
      fail(new RemoteError('NETWORK', `cannot reach the trust server at ${where(req.url)}${through} (${code}: ${cause.message}); ${hint}`, { cause }));
    });
    if (req.body !== undefined) request.end(req.body);
    else request.end();
  });
}

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
//   - no redirects are followed (notary's metadata client does not either).

import fs from 'node:fs';
import http from 'node:http';
// node:https (with node:tls) takes ~4 ms to load: in the CLI bundle `request` is a stand-in that
// loads it on first use (scripts/bundle-cli.mjs), so only a run that talks TLS pays for it.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { ConfigError, RemoteError } from '../shared/errors.js';
import type { TlsConfig } from './config.js';

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

function readFileFor(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (cause) {
    throw new ConfigError(`cannot read the ${what} ${file}; fix the path in the config file or flag`, { cause });
  }
}

function where(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/**
 * Create the sender used for every request of one CLI run.
 * @throws {ConfigError} when a TLS file cannot be read.
 */
export function createHttpSend(tls: TlsConfig = { skipVerify: false }): HttpSend {
  const tlsOptions: RequestOptions = { rejectUnauthorized: !tls.skipVerify };
  if (tls.caFile !== undefined) tlsOptions.ca = readFileFor(tls.caFile, 'TLS CA bundle');
  if (tls.certFile !== undefined) tlsOptions.cert = readFileFor(tls.certFile, 'TLS client certificate');
  if (tls.keyFile !== undefined) tlsOptions.key = readFileFor(tls.keyFile, 'TLS client key');

  return (req) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const isHttps = req.url.protocol === 'https:';
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
      const request = (isHttps ? httpsRequest : http.request)(req.url, options, (res) => {
        const status = res.statusCode ?? 0;
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
        res.on('error', (cause) => fail(new RemoteError('NETWORK', `connection to ${where(req.url)} broke while reading ${req.url.pathname}`, { cause })));
      });
      const timer = setTimeout(() => {
        fail(new RemoteError('TIMEOUT', `${where(req.url)} did not answer ${req.method} ${req.url.pathname} within ${req.timeoutMs} ms; check the server or retry`));
      }, req.timeoutMs);
      request.on('error', (cause: NodeJS.ErrnoException) => {
        const code = cause.code ?? 'error';
        const hint = /CERTIFICATE_REQUIRED/.test(code) || /certificate required/i.test(cause.message)
          ? 'the server wants a client certificate: give --tlscert and --tlskey (or remote_server.tls_client_cert/tls_client_key)'
          : code.startsWith('ERR_TLS') || /certificate|self.signed/i.test(cause.message)
            ? 'check the server certificate and --tlscacert/remote_server.root_ca'
            : 'check -s/remote_server.url and that the server is running';
        fail(new RemoteError('NETWORK', `cannot reach the trust server at ${where(req.url)} (${code}: ${cause.message}); ${hint}`, { cause }));
      });
      if (req.body !== undefined) request.end(req.body);
      else request.end();
    });
}

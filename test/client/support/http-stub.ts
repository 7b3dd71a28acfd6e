// SPDX-License-Identifier: Apache-2.0
// A scripted HTTP(S) server on 127.0.0.1:0 for transport edge cases the real
// notary-server will not produce on demand (oversized or endless bodies,
// stalls, token realms). Each handler sees the request with its body.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface StubRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export type StubHandler = (req: StubRequest, res: http.ServerResponse) => void;

export interface Stub {
  url: string;
  requests: StubRequest[];
  close(): Promise<void>;
}

/** `host` is where it listens (its url always names 127.0.0.1). */
export async function startStub(handler: StubHandler, tls?: https.ServerOptions, host = '127.0.0.1'): Promise<Stub> {
  const requests: StubRequest[] = [];
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(r);
      handler(r, res);
    });
  };
  const server = tls === undefined ? http.createServer(listener) : https.createServer(tls, listener);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

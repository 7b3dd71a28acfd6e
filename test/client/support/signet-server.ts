// SPDX-License-Identifier: Apache-2.0
// signet-server in-process (real service, embedded store) on a free port, for
// client tests that run the same flow against it and the Debian notary-server.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeApp } from '../../server/http/harness.js';

export interface TrustServer {
  url: string;
  stop(): Promise<void>;
}

export async function startSignetServer(): Promise<TrustServer> {
  const t = await makeApp();
  const server = http.createServer(t.app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await t.close();
    },
  };
}

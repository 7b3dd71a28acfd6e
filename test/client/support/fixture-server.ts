// SPDX-License-Identifier: Apache-2.0
// Serves the notary-produced repository in fixtures/server/ over notary's
// routes (by name, by sha256, by version). The real notary-server cannot be
// made to serve these files: they are signed by keys only that run held, and
// are valid only at FIXTURE_NOW. `override` swaps the bytes of a role, by name
// and by any hash.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fixture } from '../../support/paths.js';
import { startStub, type Stub } from './http-stub.js';

const ROLES = ['root', 'targets', 'snapshot', 'timestamp', 'targets/releases', 'targets/jenkins'];

export interface FixtureServer extends Stub {
  override: Map<string, Buffer>;
}

export function fixtureBytes(role: string): Buffer {
  return fs.readFileSync(fixture('server', `${role}.json`));
}

export async function startFixtureServer(gun = 'example.com/app'): Promise<FixtureServer> {
  const override = new Map<string, Buffer>();
  const current = (role: string): Buffer => override.get(role) ?? fixtureBytes(role);
  const versions: Record<string, Buffer> = {
    '1.root': fs.readFileSync(fixture('server', '1.root.json')),
    '2.root': fs.readFileSync(fixture('server', '2.root.json')),
  };
  const prefix = `/v2/${gun}/_trust/tuf/`;
  const stub = await startStub((req, res) => {
    const send = (status: number, body: Buffer | string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(body);
    };
    if (!req.url.startsWith(prefix) || req.method !== 'GET') return send(404, '{"errors":[{"code":"METADATA_NOT_FOUND","message":"You have requested metadata that does not exist."}]}\n');
    const file = decodeURIComponent(req.url.slice(prefix.length));
    const byVersion = versions[file.replace(/\.json$/, '')];
    if (byVersion !== undefined) return send(200, byVersion);
    for (const role of ROLES) {
      if (file === `${role}.json`) return send(200, current(role));
      const m = new RegExp(`^${role}\\.([0-9a-f]{64})\\.json$`).exec(file);
      if (m !== null) {
        // a malicious server answers with its swapped bytes whatever hash was asked for
        const swapped = override.get(role);
        if (swapped !== undefined) return send(200, swapped);
        const candidates = [current(role), ...(role === 'root' ? Object.values(versions) : [])];
        const hit = candidates.find((b) => createHash('sha256').update(b).digest('hex') === m[1]);
        if (hit !== undefined) return send(200, hit);
      }
    }
    return send(404, `{"errors":[{"code":"METADATA_NOT_FOUND","message":"${path.basename(file)}"}]}\n`);
  });
  return { ...stub, override };
}

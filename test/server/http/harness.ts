// SPDX-License-Identifier: Apache-2.0
// Test support for the HTTP layer: real stores (embedded PGlite copied from a
// template so each test file pays the multi-second initialisation once per
// machine, or a PostgreSQL schema of its own), the real trust service, an app
// with a capturing logger, fixture captures parsed into status/headers/body,
// and a multipart body builder.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createApp, type App, type AppOptions } from '../../../server/app.js';
import { createLogger, type Logger } from '../../../server/log.js';
import { createMetrics } from '../../../server/metrics.js';
import { createTrustService, type SignetTrustService } from '../../../server/domain/trust-service.js';
import { createStoreSigner } from '../../../server/signer/store-signer.js';
import { openStore } from '../../../server/storage/open-store.js';
import { pgliteTemplate } from '../../support/pglite-template.js';
import type { MetaStore } from '../../../server/storage/meta-store.js';
import { PG_URL } from '../storage/backends.js';

export { PG_URL };
export const TEST_PASSPHRASE = 'h6-test-signer-passphrase';

export function tempDir(prefix = 'signet-h6-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A migrated embedded data directory (copied from the template) for servers that open their own store. */
export async function templateDataDir(): Promise<{ dir: string; dataDir: string; cleanup(): void }> {
  const dir = tempDir();
  fs.cpSync(await pgliteTemplate(), path.join(dir, 'data'), { recursive: true });
  return { dir, dataDir: path.join(dir, 'data'), cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh embedded store in a temp dir (copied from a migrated template). */
export async function embeddedStore(): Promise<{ store: MetaStore & { location: string }; dir: string; cleanup(): Promise<void> }> {
  const dir = tempDir();
  fs.cpSync(await pgliteTemplate(), path.join(dir, 'data'), { recursive: true });
  const store = await openStore({ dataDir: path.join(dir, 'data') });
  return {
    store,
    dir,
    async cleanup() {
      await store.close().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { postgresReachable } from '../storage/backends.js';

/** A schema of its own on the test database; `open` may be called several times (several "processes"). */
export function postgresSchema(): { schema: string; open(): ReturnType<typeof openStore>; drop(): Promise<void> } {
  const schema = `h6_${randomBytes(6).toString('hex')}`;
  return {
    schema,
    open: () => openStore({ databaseUrl: PG_URL, schema, poolSize: 3 }),
    async drop() {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

export function testService(store: MetaStore): SignetTrustService {
  return createTrustService({ store, signer: createStoreSigner({ store, passphrase: TEST_PASSPHRASE, kdf: { logN: 10, r: 8, p: 1 } }) });
}

/** A logger whose JSON lines are kept for assertions. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  return { logger: createLogger('debug', sink), lines };
}

export interface TestApp {
  readonly app: App;
  readonly store: MetaStore;
  readonly service: SignetTrustService;
  readonly logs: string[];
  close(): Promise<void>;
}

/** The real app over the real service and an embedded store. */
export async function makeApp(options: Partial<Omit<AppOptions, 'service' | 'store' | 'logger'>> = {}, store?: MetaStore): Promise<TestApp> {
  const own = store === undefined ? await embeddedStore() : null;
  const s = store ?? own!.store;
  const service = testService(s);
  const { logger, lines } = captureLogger();
  const app = createApp({ service, store: s, logger, metrics: createMetrics({ processMetrics: false }), ...options });
  await app.ready;
  return {
    app,
    store: s,
    service,
    logs: lines,
    async close() {
      await app.close();
      await own?.cleanup();
    },
  };
}

export interface Capture {
  readonly statusLine: string;
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** Parse a curl -i capture (`fixtures/errors/*.http`) or a proxy `.response`/`.request` file. */
export function readCapture(file: string): Capture {
  const raw = fs.readFileSync(file);
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, split).toString('latin1').split('\r\n');
  const statusLine = head[0] ?? '';
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return { statusLine, status: Number(statusLine.split(' ')[1]), headers, body: raw.subarray(split + 4) };
}

export interface PartSpec {
  /** Omit for a part without filename; `null` for no Content-Disposition at all. */
  readonly filename?: string;
  readonly name?: string;
  readonly data: Buffer | string;
  readonly contentType?: string;
}

export function multipartBody(parts: readonly PartSpec[], boundary = 'h6boundary' + randomBytes(6).toString('hex')): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name ?? 'files'}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += `\r\nContent-Type: ${p.contentType ?? 'application/octet-stream'}\r\n\r\n`;
    chunks.push(Buffer.from(head, 'utf8'), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data, 'utf8'), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

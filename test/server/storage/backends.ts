// SPDX-License-Identifier: Apache-2.0
// The two databases every storage test runs against: embedded PGlite in a
// temporary directory (always) and PostgreSQL (SIGNET_TEST_DATABASE_URL, by
// default postgres://postgres@127.0.0.1:5432/test) in a schema of its own per
// test file, so parallel runs never see each other. When PostgreSQL does not
// answer, its tests are skipped with a message saying so.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import pg from 'pg';
import { EmbeddedClient } from '../../../server/storage/embedded.js';
import { loadMigrations, runMigrations } from '../../../server/storage/migrate.js';
import type { OpenStoreOptions } from '../../../server/storage/open-store.js';
import { PgClient } from '../../../server/storage/pg-client.js';
import type { SqlClient, SqlQueryable, SqlResult } from '../../../server/storage/sql-client.js';
import { redactDatabaseUrl } from '../../../server/storage/sql-errors.js';
import { DEFAULT_CHANNEL, SqlMetaStore } from '../../../server/storage/sql-meta-store.js';
import { pgliteTemplate } from '../../support/pglite-template.js';
import { sleep } from '../../support/net.js';

export const PG_URL = process.env.SIGNET_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  readonly name: 'embedded' | 'postgres';
  /** Why this backend's tests are skipped, or undefined. */
  readonly skip: string | undefined;
  /** openStore options pointing at this backend's private database. */
  readonly options: OpenStoreOptions;
  /** A migrated raw client on the same database (embedded: only while no store is open on it). */
  client(): Promise<SqlClient>;
  /** A client on the same database without running migrations. */
  rawClient(): Promise<SqlClient>;
  /** A store over `client` with the channel openStore would use. */
  storeOver(client: SqlClient): SqlMetaStore;
  cleanup(): Promise<void>;
}

let reachable: Promise<boolean> | undefined;

/** Whether PostgreSQL answers within 10 s (refused at once when absent; a loaded machine can take seconds to connect). */
export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

export const unique = (label: string): string => `${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
/** A GUN no other test uses. */
export const uniqueGun = (label = 'app'): string => `example.com/${label}-${randomBytes(5).toString('hex')}`;

/** Embedded PGlite in a temporary directory: a copy of the template, or (`fresh`) a directory PGlite initialises itself. */
export async function embeddedBackend(label: string, { fresh = false } = {}): Promise<Backend> {
  const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `signet-${label}-`)), 'data');
  if (!fresh) fs.cpSync(await pgliteTemplate(), dataDir, { recursive: true });
  return {
    name: 'embedded',
    skip: undefined,
    options: { dataDir },
    rawClient: () => EmbeddedClient.open(dataDir),
    async client() {
      const client = await EmbeddedClient.open(dataDir);
      await runMigrations(client, loadMigrations());
      return client;
    },
    storeOver: (client) => new SqlMetaStore(client),
    async cleanup() {
      fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    },
  };
}

export async function postgresBackend(label: string): Promise<Backend> {
  const schema = unique(`h5_${label}`).toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const ok = await postgresReachable();
  return {
    name: 'postgres',
    skip: ok ? undefined : `PostgreSQL not reachable at ${redactDatabaseUrl(PG_URL)}: skipped the PostgreSQL variant`,
    options: { databaseUrl: PG_URL, schema, poolSize: 4 },
    rawClient: async () => new PgClient({ databaseUrl: PG_URL, schema, poolSize: 4 }),
    async client() {
      const client = new PgClient({ databaseUrl: PG_URL, schema, poolSize: 4 });
      await runMigrations(client, loadMigrations(), schema);
      return client;
    },
    storeOver: (client) => new SqlMetaStore(client, { channel: `${DEFAULT_CHANNEL}_${schema}` }),
    async cleanup() {
      if (!ok) return;
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export async function allBackends(label: string): Promise<Backend[]> {
  return [await embeddedBackend(label), await postgresBackend(label)];
}

/** `it` that skips, saying why, when the backend is unavailable. */
export function itOn(backend: Backend) {
  return (name: string, fn: () => Promise<void>): void => {
    it(name, async (t) => {
      if (backend.skip !== undefined) {
        t.skip(backend.skip);
        return;
      }
      await fn();
    });
  };
}

type Hook = (sql: string) => 'fail' | 'no-rows' | undefined;

/** A real client whose statements matching `hook` fail (or return no rows): failure injection without a mock database. */
export class InterceptingClient implements SqlClient {
  readonly location: string;
  readonly configHint: string;
  readonly listen: SqlClient['listen'];
  readonly #inner: SqlClient;
  readonly #hook: Hook;

  constructor(inner: SqlClient, hook: Hook) {
    this.#inner = inner;
    this.#hook = hook;
    this.location = inner.location;
    this.configHint = inner.configHint;
    this.listen = inner.listen?.bind(inner);
  }

  #wrap(q: SqlQueryable): SqlQueryable {
    return {
      query: async <R extends object>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> => {
        const action = this.#hook(sql);
        if (action === 'fail') throw Object.assign(new Error('injected failure'), { code: 'XX000' });
        if (action === 'no-rows') return { rows: [], rowCount: 0 };
        return q.query<R>(sql, params);
      },
      execScript: (sql) => q.execScript(sql),
    };
  }

  query<R extends object>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return this.#wrap(this.#inner).query<R>(sql, params);
  }

  execScript(sql: string): Promise<void> {
    return this.#inner.execScript(sql);
  }

  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    return this.#inner.transaction((tx) => fn(this.#wrap(tx)));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}


/** Resolves to 'pending' if `p` has not settled after `ms`. */
export async function stateAfter(p: Promise<unknown>, ms: number): Promise<'pending' | 'settled'> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return settled ? 'settled' : 'pending';
}

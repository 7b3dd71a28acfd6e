// SPDX-License-Identifier: Apache-2.0
// SqlClient over a `pg` connection pool. notary-server opens and closes
// connections freely; Signet keeps a bounded pool of long-lived connections
// (idle ones are kept for minutes, not milliseconds) and gives every statement
// a server-side timeout, so a stuck database fails requests instead of piling
// them up. LISTEN uses one extra dedicated connection that reconnects with
// backoff and reports every gap through onReset.

import pg from 'pg';
import { StorageError } from '../../shared/errors.js';
import { quoteIdentifier } from './migrate.js';
import type { SqlClient, SqlQueryable, SqlResult } from './sql-client.js';
import { redactDatabaseUrl } from './sql-errors.js';

export interface PgClientOptions {
  /** postgres://user:password@host:port/database */
  readonly databaseUrl: string;
  /** Maximum pooled connections (default 10). */
  readonly poolSize?: number;
  /** Server-side statement_timeout in ms (default 10 000). */
  readonly statementTimeoutMs?: number;
  /** How long to wait for a new connection in ms (default 5 000). */
  readonly connectTimeoutMs?: number;
  /** Use this schema instead of `public` (created by the migrations when missing). */
  readonly schema?: string;
  /** Errors on idle pooled connections (the next query reconnects). */
  readonly onBackgroundError?: (err: Error) => void;
}

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const MAX_BACKOFF_MS = 30_000;

type Queryable = Pick<pg.PoolClient, 'query'>;

function wrap(q: Queryable): SqlQueryable {
  return {
    async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<SqlResult<R>> {
      const res = await q.query(sql, [...params]);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
    },
    async execScript(sql: string): Promise<void> {
      // No parameters: pg uses the simple protocol, which runs several statements.
      await q.query(sql);
    },
  };
}

function checkOptions(opts: PgClientOptions): void {
  let url: URL;
  try {
    url = new URL(opts.databaseUrl);
  } catch {
    // SECURITY: do not echo the string; it may hold a password.
    throw new StorageError('STORAGE', '--database-url is not a valid URL; expected postgres://user[:password]@host[:port]/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new StorageError('STORAGE', `--database-url must start with postgres:// (got ${url.protocol}//); use --data-dir for the embedded database`);
  }
  const positive = (v: number | undefined, what: string): void => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new StorageError('STORAGE', `${what} must be a positive integer, got ${v}`);
  };
  positive(opts.poolSize, 'the database pool size');
  positive(opts.statementTimeoutMs, 'the statement timeout');
  positive(opts.connectTimeoutMs, 'the connect timeout');
  if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
    throw new StorageError('STORAGE', `database schema name ${JSON.stringify(opts.schema)} is not a lower-case SQL identifier; use letters, digits and _`);
  }
}

export class PgClient implements SqlClient {
  readonly location: string;
  readonly configHint = 'check --database-url';
  readonly #pool: pg.Pool;
  readonly #config: pg.ClientConfig;
  readonly #listeners = new Set<() => Promise<void>>();

  constructor(opts: PgClientOptions) {
    checkOptions(opts);
    this.location = redactDatabaseUrl(opts.databaseUrl) + (opts.schema === undefined ? '' : ` (schema ${opts.schema})`);
    this.#config = {
      connectionString: opts.databaseUrl,
      statement_timeout: opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      // A transaction abandoned mid-way must not hold a GUN lock for ever.
      idle_in_transaction_session_timeout: 2 * (opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS),
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
      application_name: 'signet-server',
      keepAlive: true,
      ...(opts.schema === undefined ? {} : { options: `-c search_path=${opts.schema}` }),
    };
    this.#pool = new pg.Pool({ ...this.#config, max: opts.poolSize ?? DEFAULT_POOL_SIZE, idleTimeoutMillis: 300_000 });
    // Without a handler an idle connection dropped by the server would crash the process.
    this.#pool.on('error', (err) => opts.onBackgroundError?.(err));
  }

  query<R extends object>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return wrap(this.#pool).query<R>(sql, params);
  }

  execScript(sql: string): Promise<void> {
    return wrap(this.#pool).execScript(sql);
  }

  async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const conn = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await conn.query('BEGIN');
      const result = await fn(wrap(conn));
      await conn.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await conn.query('ROLLBACK');
      } catch (rollbackErr) {
        // The connection is unusable; destroy it rather than return it to the pool.
        broken = rollbackErr instanceof Error ? rollbackErr : new Error('rollback failed');
      }
      throw err;
    } finally {
      conn.release(broken);
    }
  }

  async listen(channel: string, onNotify: (payload: string) => void, onReset: (listening: boolean) => void): Promise<() => Promise<void>> {
    let stopped = false;
    let current: pg.Client | undefined;
    let timer: NodeJS.Timeout | undefined;
    let backoff = 250;

    const connect = async (): Promise<void> => {
      const client = new pg.Client(this.#config);
      client.on('notification', (msg) => {
        if (msg.channel === channel) onNotify(msg.payload ?? '');
      });
      client.on('error', () => lost(client));
      client.on('end', () => lost(client));
      try {
        await client.connect();
        await client.query(`LISTEN ${quoteIdentifier(channel)}`);
      } catch (err) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
        throw err;
      }
      if (stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      current = client;
      backoff = 250;
    };

    const lost = (client: pg.Client): void => {
      if (client !== current || stopped) return;
      current = undefined;
      client.removeAllListeners('end');
      client.end().catch(() => undefined);
      onReset(false); // notifications between now and the next LISTEN are lost
      schedule();
    };

    const schedule = (): void => {
      timer = setTimeout(() => {
        timer = undefined;
        connect().then(
          () => onReset(true), // listening again; whatever happened during the gap is unknown
          () => {
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
            if (!stopped) schedule();
          },
        );
      }, backoff);
      timer.unref();
    };

    await connect();
    const stop = async (): Promise<void> => {
      stopped = true;
      this.#listeners.delete(stop);
      if (timer !== undefined) clearTimeout(timer);
      const client = current;
      current = undefined;
      if (client !== undefined) {
        client.removeAllListeners('end');
        await client.end().catch(() => undefined);
      }
    };
    this.#listeners.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#listeners].map((stop) => stop()));
    await this.#pool.end();
  }
}

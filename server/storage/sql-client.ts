// SPDX-License-Identifier: Apache-2.0
// The small SQL surface SqlMetaStore needs, implemented by the `pg` pool
// (pg-client.ts) and by embedded PGlite (embedded.ts). Clients pass database
// errors through unchanged (SQLSTATE in `code`); the store translates them
// with storageErrorFrom (sql-errors.ts), so one table of messages serves both.

export interface SqlResult<R> {
  readonly rows: R[];
  /** Rows inserted, updated or deleted (DML), else rows returned. */
  readonly rowCount: number;
}

export interface SqlQueryable {
  /** One statement with `$n` parameters. Buffers bind as bytea. */
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
  /** A script of several statements without parameters (migrations). */
  execScript(sql: string): Promise<void>;
}

export interface SqlClient extends SqlQueryable {
  /** Run `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  /**
   * LISTEN on `channel` on a dedicated connection (PostgreSQL only; absent for
   * the single-process embedded database). `onReset` runs whenever
   * notifications may have been missed: with false when the connection is
   * lost, with true once LISTEN is re-established.
   * Resolves once LISTEN is active, with a function that stops listening.
   */
  listen?(channel: string, onNotify: (payload: string) => void, onReset: (listening: boolean) => void): Promise<() => Promise<void>>;
  /** Where the data lives, safe to show: a URL without password, or a directory. */
  readonly location: string;
  /** The hint appended to "unreachable" messages, e.g. "check --database-url". */
  readonly configHint: string;
  close(): Promise<void>;
}

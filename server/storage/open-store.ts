// SPDX-License-Identifier: Apache-2.0
// The one entry point the server uses: PostgreSQL when a database URL is
// given, else embedded PGlite in a data directory. Both run the migrations
// before the store is handed out.

import { StorageError } from '../../shared/errors.js';
import { EmbeddedClient } from './embedded.js';
import { loadMigrations, runMigrations } from './migrate.js';
import { PgClient } from './pg-client.js';
import type { SqlClient } from './sql-client.js';
import { storageErrorFrom } from './sql-errors.js';
import { DEFAULT_CHANNEL, SqlMetaStore } from './sql-meta-store.js';

export interface OpenStoreOptions {
  /** postgres://… : use PostgreSQL. */
  readonly databaseUrl?: string;
  /** Directory of the embedded database (created when missing). */
  readonly dataDir?: string;
  /** PostgreSQL only: pool size (default 10). */
  readonly poolSize?: number;
  /** PostgreSQL only: statement_timeout in ms (default 10 000). */
  readonly statementTimeoutMs?: number;
  /** PostgreSQL only: schema to use instead of `public` (created when missing). */
  readonly schema?: string;
  /** PostgreSQL only: errors of idle pooled connections, for the log. */
  readonly onBackgroundError?: (err: Error) => void;
}

/**
 * Open the configured store and bring its schema up to date.
 * @throws {StorageError} when nothing or both are configured, the database is unreachable, or its schema is newer or altered.
 */
export async function openStore(options: OpenStoreOptions): Promise<SqlMetaStore> {
  const { databaseUrl, dataDir } = options;
  if ((databaseUrl === undefined) === (dataDir === undefined)) {
    throw new StorageError('STORAGE', 'configure exactly one store: --database-url for PostgreSQL or --data-dir for the embedded database');
  }
  const migrations = loadMigrations();
  let client: SqlClient;
  if (databaseUrl !== undefined) {
    client = new PgClient({
      databaseUrl,
      ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
      ...(options.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: options.statementTimeoutMs }),
      ...(options.schema === undefined ? {} : { schema: options.schema }),
      ...(options.onBackgroundError === undefined ? {} : { onBackgroundError: options.onBackgroundError }),
    });
  } else {
    client = await EmbeddedClient.open(dataDir!);
  }
  try {
    await runMigrations(client, migrations, databaseUrl === undefined ? undefined : options.schema);
  } catch (err) {
    await client.close().catch(() => undefined);
    throw storageErrorFrom(err, 'prepare the database schema', client.location, client.configHint);
  }
  const channel = options.schema === undefined || databaseUrl === undefined ? DEFAULT_CHANNEL : `${DEFAULT_CHANNEL}_${options.schema}`;
  return new SqlMetaStore(client, { channel });
}

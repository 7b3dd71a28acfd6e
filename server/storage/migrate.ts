// SPDX-License-Identifier: Apache-2.0
// Schema migrations: numbered SQL files (migrations/0001_initial.sql, ...)
// applied in order at start, inside one transaction that first takes an
// advisory lock, so two servers starting together apply each file once and
// a failed file leaves the schema as it was. `schema_migrations` records each
// file's SHA-256; a file changed after it was applied, or a database newer
// than this server, stops the start with a StorageError instead of guessing.
//
// tsc does not copy .sql files, so the files are read from the package tree
// (server/storage/migrations beside the sources), found from this module's
// location whether it runs from dist/, a build dir, or the sources.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from '../../shared/errors.js';
import type { SqlClient, SqlQueryable } from './sql-client.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /** Hex SHA-256 of the SQL with line endings normalised to \n. */
  readonly checksum: string;
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const RELATIVE_DIR = path.join('server', 'storage', 'migrations');
/** First key of the advisory lock that serialises migrations ('SIGM'). */
export const MIGRATION_LOCK_CLASS = 0x5349474d;

/** The migrations directory shipped with this package. @throws {StorageError} when it cannot be found. */
export function findMigrationsDir(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  const beside = path.join(from, 'migrations');
  if (fs.existsSync(beside)) return beside;
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, RELATIVE_DIR);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new StorageError('STORAGE', `cannot find the SQL migrations (${RELATIVE_DIR}) above ${from}; install signet-server from its package so server/storage/migrations is present`);
}

/** Read and check the numbered migration files: 0001, 0002, ... without gaps. */
export function loadMigrations(dir: string = findMigrationsDir()): Migration[] {
  const migrations: Migration[] = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE_NAME.exec(file);
    if (m === null) throw new StorageError('STORAGE', `migration file ${path.join(dir, file)} is not named NNNN_name.sql; rename or remove it`);
    const sql = fs.readFileSync(path.join(dir, file), 'utf8').replace(/\r\n/g, '\n');
    const version = Number(m[1]);
    if (version !== migrations.length + 1) {
      throw new StorageError('STORAGE', `migration ${file} in ${dir} should be number ${migrations.length + 1}; migrations must be numbered without gaps`);
    }
    migrations.push({ version, name: m[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  if (migrations.length === 0) throw new StorageError('STORAGE', `no migrations found in ${dir}; the package is incomplete, reinstall signet-server`);
  return migrations;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

/**
 * Bring the schema up to date. `schema` (PostgreSQL only) is created when
 * missing; the connection's search_path must already point at it.
 * @returns the versions applied now (empty when the schema was current).
 * @throws {StorageError} when the database holds a newer or a different schema.
 */
export async function runMigrations(client: SqlClient, migrations: readonly Migration[], schema?: string): Promise<number[]> {
  return client.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema ?? '']);
    if (schema !== undefined) await tx.execScript(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
    await refuseForeignSchema(tx, client.location);
    await tx.execScript(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      checksum   char(64)    NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await tx.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
    const latest = migrations.length;
    for (const row of rows) {
      const known = migrations[row.version - 1];
      if (known === undefined) {
        throw new StorageError('STORAGE', `the database at ${client.location} has schema version ${row.version}, newer than this signet-server knows (${latest}); upgrade signet-server or use another database`);
      }
      if (known.checksum !== row.checksum.trim()) {
        throw new StorageError('STORAGE', `migration ${String(row.version).padStart(4, '0')}_${known.name} differs from the one applied to ${client.location}; restore the original file (applied migrations must never change)`);
      }
    }
    const applied: number[] = [];
    for (const m of migrations.slice(rows.length)) {
      await tx.execScript(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      applied.push(m.version);
    }
    return applied;
  });
}

/** Tables whose columns tell Signet's schema from notary's and other applications'. */
const TELLING_TABLES = ['schema_migrations', 'tuf_files', 'changefeed', 'private_keys'];

/**
 * Refuse a schema that another application's migrations made (notary-server, notary-signer, or
 * anything else with a `schema_migrations` of its own): Signet's migrations would fail on its
 * tables with a misleading "older than this server", or add Signet's tables among them.
 * @throws {StorageError} naming what the schema holds and what to use instead.
 */
async function refuseForeignSchema(tx: SqlQueryable, location: string): Promise<void> {
  const { rows } = await tx.query<{ relname: string; attname: string }>(
    `SELECT c.relname, a.attname FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relnamespace = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = current_schema())
        AND c.relkind IN ('r', 'p') AND c.relname = ANY($1::text[])`,
    [TELLING_TABLES],
  );
  const tables = new Map<string, Set<string>>();
  for (const r of rows) (tables.get(r.relname) ?? tables.set(r.relname, new Set()).get(r.relname)!).add(r.attname);
  const migrations = tables.get('schema_migrations');
  // Signet's records name and checksum; golang-migrate's (notary) has version and dirty.
  const ours = migrations !== undefined && migrations.has('checksum') && migrations.has('name');
  // notary-server's tuf_files (gorm) carries updated_at/deleted_at, Signet's does not.
  const notaryFiles = tables.get('tuf_files')?.has('deleted_at') === true;
  if (ours && !notaryFiles) return;
  if (migrations === undefined && !notaryFiles) return;
  const golangMigrate = migrations?.has('dirty') === true ? ["golang-migrate's schema_migrations"] : [];
  let what: string;
  if (notaryFiles) {
    what = `notary-server's schema (${['tuf_files', ...(tables.has('changefeed') ? ['changefeed'] : []), ...golangMigrate].join(', ')})`;
  } else if (tables.has('private_keys')) {
    what = `notary-signer's schema (${['private_keys', ...golangMigrate].join(', ')})`;
  } else {
    what = `another application's schema_migrations table (columns ${[...migrations!].sort().join(', ')}; Signet's has name and checksum)`;
  }
  throw new StorageError(
    'STORAGE',
    `the database at ${location} holds ${what}; signet-server keeps its own schema and neither reads nor converts these tables: point --database-url at a fresh database (createdb signet) and publish the repositories to signet-server again, or keep this database for the server that made it`,
  );
}

/** A PostgreSQL identifier in double quotes. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

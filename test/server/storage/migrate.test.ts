// SPDX-License-Identifier: Apache-2.0
// Migrations: found from the compiled code, applied once even when servers
// start together, rolled back when a file fails, and refused when the
// database is newer or an applied file was changed.
import { after, describe, it as plainIt } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StorageError } from '../../../shared/errors.js';
import { findMigrationsDir, loadMigrations, runMigrations } from '../../../server/storage/migrate.js';
import { openStore } from '../../../server/storage/open-store.js';
import { REPO_ROOT } from '../../support/paths.js';
import { allBackends, itOn, postgresBackend } from './backends.js';

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempMigrations(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-migrations-'));
  tempDirs.push(dir);
  for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

describe('migration files', () => {
  plainIt('are found from the compiled module, in the package tree', () => {
    assert.equal(findMigrationsDir(), path.join(REPO_ROOT, 'server', 'storage', 'migrations'));
    const [first] = loadMigrations();
    assert.equal(first?.version, 1);
    assert.equal(first?.name, 'initial');
    assert.match(first?.sql ?? '', /CREATE TABLE tuf_files/);
  });

  plainIt('refuses gaps and badly named files', () => {
    assert.throws(() => loadMigrations(tempMigrations({ '0001_a.sql': 'SELECT 1;', '0003_c.sql': 'SELECT 1;' })), /should be number 2/);
    assert.throws(() => loadMigrations(tempMigrations({ '0001_a.sql': 'SELECT 1;', 'extra.sql': 'SELECT 1;' })), /not named NNNN_name.sql/);
    assert.throws(() => loadMigrations(tempMigrations({})), /no migrations found/);
  });

  plainIt('checksums ignore CRLF line endings', () => {
    const [lf] = loadMigrations(tempMigrations({ '0001_a.sql': 'SELECT 1;\nSELECT 2;\n' }));
    const [crlf] = loadMigrations(tempMigrations({ '0001_a.sql': 'SELECT 1;\r\nSELECT 2;\r\n' }));
    assert.equal(lf?.checksum, crlf?.checksum);
  });
});

for (const backend of await allBackends('migrate')) {
  describe(`running migrations (${backend.name})`, () => {
    const it = itOn(backend);
    after(() => backend.cleanup());

    it('applies each migration once and records it', async () => {
      const client = await backend.client(); // applies
      try {
        const again = await runMigrations(client, loadMigrations(), backend.options.schema);
        assert.deepEqual(again, [], 'nothing left to apply');
        const { rows } = await client.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations');
        assert.deepEqual(rows.map((r) => [r.version, r.name]), loadMigrations().map((m) => [m.version, m.name]));
      } finally {
        await client.close();
      }
    });

    it('rolls back a failing migration completely', async () => {
      const client = await backend.client();
      try {
        const shipped = fs.readdirSync(findMigrationsDir()).sort();
        const files = Object.fromEntries(shipped.map((f) => [f, fs.readFileSync(path.join(findMigrationsDir(), f), 'utf8')]));
        const broken = `${String(shipped.length + 1).padStart(4, '0')}_broken.sql`;
        const dir = tempMigrations({ ...files, [broken]: 'CREATE TABLE half_done (x int);\nSELECT 1 / 0;\n' });
        await assert.rejects(runMigrations(client, loadMigrations(dir), backend.options.schema), /division by zero/);
        const { rows } = await client.query<{ n: string | number }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'half_done'");
        assert.equal(Number(rows[0]?.n), 0);
        assert.equal((await client.query('SELECT version FROM schema_migrations')).rows.length, shipped.length);
      } finally {
        await client.close();
      }
    });

    it('refuses a changed applied migration, and a database with a newer schema', async () => {
      const [initial] = loadMigrations();
      const tamper = async (sql: string): Promise<void> => {
        const raw = await backend.rawClient(); // no migration check
        try {
          await raw.query(sql, [initial?.checksum]);
        } finally {
          await raw.close();
        }
      };
      await tamper("UPDATE schema_migrations SET checksum = repeat('f', 64) WHERE version = 1 AND $1::text IS NOT NULL");
      await assert.rejects(openStore(backend.options), (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.match(err.message, /migration 0001_initial differs from the one applied.*restore the original file/);
        return true;
      });
      await tamper("UPDATE schema_migrations SET checksum = $1 WHERE version = 1");
      await (await openStore(backend.options)).close(); // restored: accepted again
      await tamper("INSERT INTO schema_migrations (version, name, checksum) VALUES (99, 'future', $1)");
      await assert.rejects(openStore(backend.options), (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.match(err.message, new RegExp(`schema version 99, newer than this signet-server knows \\(${loadMigrations().length}\\); upgrade signet-server`));
        return true;
      });
    });
  });
}

const pgBackend = await postgresBackend('migrate-race');
describe('servers starting together (PostgreSQL)', () => {
  const it = itOn(pgBackend);
  after(() => pgBackend.cleanup());

  it('four stores opening a fresh schema at once all succeed and migrate once', async () => {
    const stores = await Promise.all([1, 2, 3, 4].map(() => openStore(pgBackend.options)));
    try {
      const client = await pgBackend.client();
      const { rows } = await client.query('SELECT version FROM schema_migrations');
      await client.close();
      assert.equal(rows.length, loadMigrations().length);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

// notary-server's PostgreSQL schema as its migrations leave it (migrations/server/postgresql,
// applied by golang-migrate, whose schema_migrations holds version and dirty).
const NOTARY_SERVER_SCHEMA = `
CREATE TABLE tuf_files (
  id serial PRIMARY KEY, created_at timestamp NULL, updated_at timestamp NULL, deleted_at timestamp NULL,
  gun varchar(255) NOT NULL, role varchar(255) NOT NULL, version integer NOT NULL, data bytea NOT NULL,
  sha256 char(64) DEFAULT NULL, namespace varchar(255) NOT NULL DEFAULT 'published', UNIQUE (gun, role, version, namespace)
);
CREATE TABLE change_category (category varchar(20) PRIMARY KEY);
INSERT INTO change_category VALUES ('update'), ('deletion');
CREATE TABLE changefeed (
  id serial PRIMARY KEY, created_at timestamp DEFAULT CURRENT_TIMESTAMP, gun varchar(255) NOT NULL, version integer NOT NULL,
  sha256 char(64) DEFAULT NULL, category varchar(20) NOT NULL DEFAULT 'update' REFERENCES change_category, namespace varchar(255) NOT NULL DEFAULT 'published'
);
CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
INSERT INTO schema_migrations VALUES (5, false);
`;

const notaryDb = await postgresBackend('notary-db');
describe('a database that holds notary-server\'s schema (PostgreSQL)', () => {
  const it = itOn(notaryDb);
  after(() => notaryDb.cleanup());

  it('is refused at start, naming notary-server and what to do, and left untouched', async () => {
    const raw = await notaryDb.rawClient();
    try {
      await raw.execScript(`CREATE SCHEMA "${notaryDb.options.schema}"`);
      await raw.execScript(NOTARY_SERVER_SCHEMA);
      await assert.rejects(openStore(notaryDb.options), (err: unknown) => {
        assert.ok(err instanceof StorageError, String(err));
        assert.match(err.message, /holds notary-server's schema \(tuf_files, changefeed, golang-migrate's schema_migrations\).*point --database-url at a fresh database/);
        return true;
      });
      const { rows } = await raw.query<{ relname: string }>('SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = $1 ORDER BY relname', ['r']);
      assert.deepEqual(rows.map((r) => r.relname), ['change_category', 'changefeed', 'schema_migrations', 'tuf_files'], 'nothing of Signet\'s added');
      // Even without golang-migrate's table (a schema created by hand), notary's tuf_files is recognised.
      await raw.execScript('DROP TABLE schema_migrations');
      await assert.rejects(openStore(notaryDb.options), /holds notary-server's schema \(tuf_files, changefeed\)/);
    } finally {
      await raw.close();
    }
  });
});

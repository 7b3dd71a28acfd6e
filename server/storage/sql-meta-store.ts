// SPDX-License-Identifier: Apache-2.0
// The MetaStore on SQL, shared by PostgreSQL and embedded PGlite. Writes of a
// GUN are serialised by a transaction-scoped advisory lock on the GUN; the
// version check runs under that lock and UNIQUE(gun, role, version) is the
// last guard. Changefeed rows are inserted under one more advisory lock held
// to commit, so their IDs follow commit order. Subscribers hear about
// committed changes through ChangeHub (change-hub.ts).

import { createHash } from 'node:crypto';
import { StateError, StorageError } from '../../shared/errors.js';
import type { Change, ChangeListener, ChangeQuery, MetaStore, MetaUpdate, ResetListener, ServerKeyRecord, ServerKeyRef, StoredFile, UpdateOptions } from './meta-store.js';
import { DEFAULT_CHANGE_RECORDS, ServerKeyGoneError, VersionConflictError } from './meta-store.js';
import { ChangeHub, DEFAULT_CHANNEL } from './change-hub.js';
import type { SqlClient, SqlQueryable } from './sql-client.js';
import { errorCode, errorDetail, storageErrorFrom } from './sql-errors.js';
import type { ChangeRow, FileRow, KeyRow } from './sql-rows.js';
import { CHANGE_COLUMNS, FILE_COLUMNS, KEY_COLUMNS, SHA256_HEX, assertName, isStorableName, isVersion, toChange, toServerKey, toStoredFile } from './sql-rows.js';

/** Advisory lock classes (first int4 key): 'SIGG' per GUN, 'SIGF' for the changefeed. */
export const GUN_LOCK_CLASS = 0x53494747;
export const FEED_LOCK_CLASS = 0x53494746;
/** Takes the write lock of the GUN in $1 until the transaction ends. */
export const LOCK_GUN_SQL = `SELECT pg_advisory_xact_lock(${GUN_LOCK_CLASS}, hashtext($1))`;
/** Serialises changefeed inserts of one schema until the transaction ends. */
export const LOCK_FEED_SQL = `SELECT pg_advisory_xact_lock(${FEED_LOCK_CLASS}, hashtext(current_schema()))`;
export { DEFAULT_CHANNEL };
/** SQLSTATE signet_store_update raises for a version that is not newer; DETAIL is `<version> <role>`. */
const STALE_VERSION_CODE = 'SG409';
/** SQLSTATE signet_store_update raises when the current root is not the one the update was validated against. */
const BASE_CHANGED_CODE = 'SG412';
/** Raised by signet_store_update (migration 0004) when a server key that signed the update is no longer stored. */
const KEY_GONE_CODE = 'SG410';

export interface SqlMetaStoreOptions {
  /** NOTIFY channel (PostgreSQL); one per schema so stores of different schemas do not hear each other. */
  readonly channel?: string;
}

export class SqlMetaStore implements MetaStore {
  readonly #client: SqlClient;
  readonly #changes: ChangeHub;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  /** Wraps a migrated client; use openStore() to get one. */
  constructor(client: SqlClient, options: SqlMetaStoreOptions = {}) {
    this.#client = client;
    this.#changes = new ChangeHub(client, options.channel ?? DEFAULT_CHANNEL);
  }

  /** Where the data lives, without secrets (for logs). */
  get location(): string {
    return this.#client.location;
  }

  async updateMany(gun: string, updates: readonly MetaUpdate[], options: UpdateOptions = {}): Promise<void> {
    assertName('gun', gun);
    const seen = new Map<string, number>();
    for (const u of updates) {
      assertName('role', u.role);
      if (!isVersion(u.version)) throw new StateError(`version of ${u.role} must be a non-negative safe integer, got ${u.version}`);
      if (!Buffer.isBuffer(u.data)) throw new StateError(`data of ${u.role} must be a Buffer`);
      const earlier = seen.get(u.role);
      if (earlier !== undefined) {
        // Stricter than Notary, which accepts one role at two versions: a publish holds each role once.
        throw new VersionConflictError(u.role, u.version, { reason: `${u.role} appears twice in one update (versions ${earlier} and ${u.version}); send each role once` });
      }
      seen.set(u.role, u.version);
    }
    if (updates.length === 0) return;
    const rows = updates.map((u) => ({ ...u, sha256: createHash('sha256').update(u.data).digest('hex') }));

    const timestamp = rows.find((r) => r.role === 'timestamp');
    const notify = this.#changes.notifyArguments(gun);
    // One statement (migrations 0002-0004): lock, base root, server key and version checks, insert, changefeed row and NOTIFY.
    // Buffers go as separate binary parameters inside ARRAY[...] rather than as one array literal.
    const data = rows.map((_, i) => `$${i + 13}::bytea`).join(', ');
    const keys = options.serverKeys ?? [];
    const params: unknown[] = [
      gun,
      rows.map((r) => r.role),
      rows.map((r) => String(r.version)),
      rows.map((r) => r.sha256),
      timestamp === undefined ? null : String(timestamp.version),
      timestamp?.sha256 ?? null,
      notify?.channel ?? null,
      notify?.payload ?? null,
      options.baseRoot !== undefined,
      options.baseRoot ?? null,
      keys.map((k) => k.role),
      keys.map((k) => k.keyId),
      ...rows.map((r) => r.data),
    ];
    await this.#run(`store an update of ${gun}`, async () => {
      try {
        await this.#client.query(`SELECT signet_store_update($1, $2::text[], $3::bigint[], ARRAY[${data}]::bytea[], $4::text[], $5::bigint, $6, $7, $8, $9::boolean, $10, $11::text[], $12::text[])`, params);
      } catch (err) {
        const code = errorCode(err);
        if (code === BASE_CHANGED_CODE) {
          const what = options.baseRoot === null ? 'a root was stored' : errorDetail(err) === 'none' ? 'it was deleted' : 'its root changed';
          throw new VersionConflictError('root', 0, { cause: err, reason: `${gun} changed while this update was validated (${what}); fetch the latest metadata and publish again` });
        }
        if (code === KEY_GONE_CODE) {
          const missing = await this.#missingServerKeys(gun, keys);
          // Rows stored again since the statement leave none to name: then name every key it checked.
          throw new ServerKeyGoneError(gun, missing.length > 0 ? missing : keys);
        }
        if (code === STALE_VERSION_CODE) {
          const [version, ...role] = (errorDetail(err) ?? '').split(' ');
          throw new VersionConflictError(role.join(' '), Number(version));
        }
        // The lock makes this unreachable for Signet writers; it still guards against any other writer.
        if (code === '23505') {
          const first = rows[0]!;
          throw new VersionConflictError(first.role, first.version, { cause: err, reason: `another publish of ${gun} stored the same versions first; fetch the latest metadata and publish again` });
        }
        throw err;
      }
    });
    this.#changes.emit(gun);
  }

  async getCurrent(gun: string, role: string): Promise<StoredFile | null> {
    if (!isStorableName(gun) || !isStorableName(role)) return null;
    return this.#one(`read the current ${role} of ${gun}`, `SELECT ${FILE_COLUMNS} FROM tuf_files WHERE gun = $1 AND role = $2 ORDER BY version DESC LIMIT 1`, [gun, role]);
  }

  async getCurrentMany(gun: string, roles: readonly string[]): Promise<Map<string, StoredFile>> {
    const wanted = roles.filter(isStorableName);
    if (!isStorableName(gun) || wanted.length === 0) return new Map();
    // One index probe per role (as getCurrent), in one round trip.
    const res = await this.#run(`read the current ${wanted.join(', ')} of ${gun}`, () =>
      this.#client.query<FileRow>(
        `SELECT f.* FROM unnest($2::text[]) AS r(role) CROSS JOIN LATERAL (SELECT ${FILE_COLUMNS} FROM tuf_files WHERE gun = $1 AND role = r.role ORDER BY version DESC LIMIT 1) AS f`,
        [gun, wanted],
      ),
    );
    return new Map(res.rows.map((row) => [row.role, toStoredFile(row)]));
  }

  async getByVersion(gun: string, role: string, version: number): Promise<StoredFile | null> {
    if (!isStorableName(gun) || !isStorableName(role) || !isVersion(version)) return null;
    return this.#one(`read ${role} version ${version} of ${gun}`, `SELECT ${FILE_COLUMNS} FROM tuf_files WHERE gun = $1 AND role = $2 AND version = $3`, [gun, role, version]);
  }

  async getByChecksum(gun: string, role: string, sha256: string): Promise<StoredFile | null> {
    // Notary matches lower-case hex only; anything else cannot be stored, so it is not found.
    if (!isStorableName(gun) || !isStorableName(role) || typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) return null;
    return this.#one(
      `read ${role} by checksum of ${gun}`,
      `SELECT ${FILE_COLUMNS} FROM tuf_files WHERE gun = $1 AND role = $2 AND sha256 = $3 ORDER BY version DESC LIMIT 1`,
      [gun, role, sha256],
    );
  }

  async deleteGun(gun: string): Promise<boolean> {
    if (!isStorableName(gun)) return false;
    const deleted = await this.#run(`delete ${gun}`, () =>
      this.#client.transaction(async (tx) => {
        await tx.query(LOCK_GUN_SQL, [gun]);
        // SECURITY: the server keys go with the metadata. A GUN created again must get new ones,
        // or metadata signed for the deleted repository (an old timestamp) would verify again.
        await tx.query('DELETE FROM server_keys WHERE gun = $1', [gun]);
        // Exact match: Notary's memory store deletes every GUN with this prefix; we do not.
        const res = await tx.query('DELETE FROM tuf_files WHERE gun = $1', [gun]);
        if (res.rowCount === 0) return false;
        await this.#recordChange(tx, gun, 0, '', 'deletion');
        await this.#changes.notifyInTransaction(tx, gun);
        return true;
      }),
    );
    if (deleted) this.#changes.emit(gun);
    return deleted;
  }

  async getChanges(query: ChangeQuery): Promise<Change[]> {
    const { gun, changeId } = query;
    if (!Number.isSafeInteger(changeId) || !Number.isSafeInteger(query.records)) {
      throw new StateError(`changeId and records must be integers, got ${changeId} and ${query.records}`);
    }
    if (gun !== undefined && !isStorableName(gun)) return [];
    const records = query.records === 0 ? DEFAULT_CHANGE_RECORDS : Math.abs(query.records);
    // Notary: a negative change ID means "from the newest", which only makes sense backwards.
    const backwards = query.records < 0 || changeId < 0;
    const params: unknown[] = [records];
    const where: string[] = [];
    if (gun !== undefined) where.push(`gun = $${params.push(gun)}`);
    if (!backwards) where.push(`id > $${params.push(changeId)}`);
    else if (changeId > 0) where.push(`id < $${params.push(changeId)}`);
    const filter = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const sql = backwards
      ? `SELECT * FROM (SELECT ${CHANGE_COLUMNS} FROM changefeed ${filter} ORDER BY changefeed.id DESC LIMIT $1) AS newest ORDER BY id::bigint ASC`
      : `SELECT ${CHANGE_COLUMNS} FROM changefeed ${filter} ORDER BY changefeed.id ASC LIMIT $1`;
    const res = await this.#run('read the changefeed', () => this.#client.query<ChangeRow>(sql, params));
    return res.rows.map(toChange);
  }

  async latestChangeId(): Promise<number> {
    const res = await this.#run('read the changefeed', () => this.#client.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM changefeed'));
    return Number(res.rows[0]?.id ?? 0);
  }

  async getServerKeys(gun: string, role: 'timestamp' | 'snapshot'): Promise<ServerKeyRecord[]> {
    if (!isStorableName(gun)) return [];
    const res = await this.#run(`read the ${role} keys of ${gun}`, () =>
      this.#client.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM server_keys WHERE gun = $1 AND role = $2 ORDER BY id ASC`, [gun, role]),
    );
    return res.rows.map(toServerKey);
  }

  /** Which of `keys` are not stored for the GUN (after an update refused for that reason). */
  async #missingServerKeys(gun: string, keys: readonly ServerKeyRef[]): Promise<ServerKeyRef[]> {
    const res = await this.#client.query<{ role: string; key_id: string }>('SELECT role, key_id FROM server_keys WHERE gun = $1 AND key_id = ANY($2::text[])', [gun, keys.map((k) => k.keyId)]);
    return keys.filter((k) => !res.rows.some((r) => r.role === k.role && r.key_id === k.keyId));
  }

  async newestServerKey(): Promise<ServerKeyRecord | null> {
    const res = await this.#run('read the newest server key', () => this.#client.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM server_keys ORDER BY id DESC LIMIT 1`));
    const row = res.rows[0];
    return row === undefined ? null : toServerKey(row);
  }

  async addServerKey(record: Omit<ServerKeyRecord, 'createdAt'>): Promise<void> {
    assertName('gun', record.gun);
    assertName('key ID', record.keyId);
    if (record.role !== 'timestamp' && record.role !== 'snapshot') throw new StateError(`server keys are for timestamp or snapshot, not ${String(record.role)}`);
    if (!Buffer.isBuffer(record.encryptedPrivate) || record.encryptedPrivate.length === 0) throw new StateError('encryptedPrivate must be a non-empty Buffer (the encrypted private key)');
    await this.#run(`store a ${record.role} key of ${record.gun}`, async () => {
      try {
        await this.#client.query(
          'INSERT INTO server_keys (gun, role, key_id, key_type, public_value, encrypted_private) VALUES ($1, $2, $3, $4, $5, $6)',
          [record.gun, record.role, record.keyId, record.keyType, record.publicValue, record.encryptedPrivate],
        );
      } catch (err) {
        if (errorCode(err) === '23505') throw new StorageError('STORAGE', `key ${record.keyId} is already stored for ${record.gun}; generate a new key`, { cause: err });
        throw err;
      }
    });
  }

  async subscribe(onChange: ChangeListener, onReset?: ResetListener): Promise<() => void> {
    this.#assertOpen('subscribe to changes');
    try {
      return await this.#changes.subscribe(onChange, onReset);
    } catch (err) {
      throw storageErrorFrom(err, 'listen for changes', this.#client.location, this.#client.configHint);
    }
  }

  async ping(): Promise<void> {
    await this.#run('check the database', () => this.#client.query('SELECT 1 FROM tuf_files LIMIT 1'));
  }

  /** Waits for operations in flight, refuses new ones, then closes the database. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      await this.#changes.close();
      await this.#client.close();
    })();
    return this.#closed;
  }

  async #one(operation: string, sql: string, params: readonly unknown[]): Promise<StoredFile | null> {
    const res = await this.#run(operation, () => this.#client.query<FileRow>(sql, params));
    const row = res.rows[0];
    return row === undefined ? null : toStoredFile(row);
  }

  async #recordChange(tx: SqlQueryable, gun: string, version: number, sha256: string, category: Change['category']): Promise<void> {
    await tx.query(LOCK_FEED_SQL);
    await tx.query('INSERT INTO changefeed (gun, version, sha256, category) VALUES ($1, $2, $3, $4)', [gun, version, sha256, category]);
  }

  #assertOpen(operation: string): void {
    if (this.#closed !== undefined) throw new StorageError('STORAGE', `cannot ${operation}: the store is closed (the server is shutting down)`);
  }

  async #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    this.#assertOpen(operation);
    this.#inFlight++;
    try {
      return await fn();
    } catch (err) {
      throw storageErrorFrom(err, operation, this.#client.location, this.#client.configHint);
    } finally {
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
// Storage contract of signet-server. Every implementation (PostgreSQL through
// `pg`, the embedded PGlite store) passes the same contract tests
// (test/server/storage/). The store keeps uploaded bytes verbatim: it is what
// gets hashed, served and referenced by snapshots.

import { StorageError } from '../../shared/errors.js';

export interface StoredFile {
  readonly gun: string;
  readonly role: string;
  readonly version: number;
  /** Lower-case hex SHA-256 of `data`. */
  readonly sha256: string;
  readonly data: Buffer;
  readonly createdAt: Date;
}

export interface MetaUpdate {
  readonly role: string;
  readonly version: number;
  readonly data: Buffer;
}

export interface UpdateOptions {
  /**
   * SHA-256 of the stored root the update was validated against, or null when there was none:
   * the update is stored only if that is still the current root (a DELETE, a rotation or a new
   * `init` in between makes it a VersionConflictError). Undefined: no such check.
   */
  readonly baseRoot?: string | null;
  /**
   * Server keys (rows of this store) that signed parts of the update: it is stored only while
   * every row still is, checked in the same statement. A signer caches decrypted keys, and another
   * server on the same database may have deleted the GUN (and its key rows) meanwhile.
   * @see ServerKeyGoneError
   */
  readonly serverKeys?: readonly ServerKeyRef[];
}

export interface ServerKeyRef {
  readonly role: 'timestamp' | 'snapshot';
  readonly keyId: string;
}

export interface Change {
  /** Monotonic, as a decimal string (Notary's changefeed `ID`). */
  readonly id: string;
  readonly createdAt: Date;
  readonly gun: string;
  /** Timestamp version for `update`, 0 for `deletion`. */
  readonly version: number;
  /** Hex SHA-256 of the timestamp for `update`, '' for `deletion`. */
  readonly sha256: string;
  readonly category: 'update' | 'deletion';
}

export interface ChangeQuery {
  /** Restrict to one GUN (exact match); all GUNs when undefined. */
  readonly gun?: string;
  /**
   * Forward: records with ID > changeId. Backward: records with ID < changeId,
   * or the newest records when changeId <= 0. A negative changeId also walks
   * backwards (Notary's "start from the newest"), whatever the sign of `records`.
   */
  readonly changeId: number;
  /**
   * Maximum records; negative walks backwards (records returned oldest first).
   * 0 means DEFAULT_CHANGE_RECORDS: the store applies Notary's default, so a
   * handler may pass the query parameter through unchanged.
   */
  readonly records: number;
}

/** Notary's page size when a changefeed query asks for `records=0`. */
export const DEFAULT_CHANGE_RECORDS = 100;

/** Called after a commit changed a GUN's metadata (publish or delete). */
export type ChangeListener = (gun: string) => void;
/**
 * Called when changes may have been missed: drop every cached GUN. `listening` false: the
 * notifications stopped (connection lost), so nothing cached may be trusted without checking
 * until a later call with true says they flow again.
 */
export type ResetListener = (listening: boolean) => void;

/** A server-held (timestamp/snapshot) key. The private part is encrypted by the caller before it reaches the store. */
export interface ServerKeyRecord {
  readonly gun: string;
  readonly role: 'timestamp' | 'snapshot';
  /** Key ID (TUF ID = canonical ID for non-certificate keys). */
  readonly keyId: string;
  /** Wire keytype (`ed25519`, `ecdsa`). */
  readonly keyType: string;
  /** Base64 public value as on the wire. */
  readonly publicValue: string;
  /** Opaque encrypted private key (the store never sees plaintext). */
  readonly encryptedPrivate: Buffer;
  readonly createdAt: Date;
}

export interface MetaStore {
  /**
   * Store all updates of one publish atomically. Each (role, version) must be
   * greater than every stored version of that role and unique in the request.
   * A timestamp in `updates` adds one `update` change record.
   * @throws {VersionConflictError} when a version is not newer (also when a concurrent publish won the race).
   */
  updateMany(gun: string, updates: readonly MetaUpdate[], options?: UpdateOptions): Promise<void>;
  /** Highest stored version of a role, or null. */
  getCurrent(gun: string, role: string): Promise<StoredFile | null>;
  /** getCurrent of several roles in one read; a role with nothing stored is absent from the map. */
  getCurrentMany(gun: string, roles: readonly string[]): Promise<Map<string, StoredFile>>;
  getByVersion(gun: string, role: string, version: number): Promise<StoredFile | null>;
  /** By lower-case hex SHA-256 of the stored bytes. */
  getByChecksum(gun: string, role: string, sha256: string): Promise<StoredFile | null>;
  /** Delete every file of exactly this GUN (no prefix matching); records a `deletion` change when something was deleted. */
  deleteGun(gun: string): Promise<boolean>;
  getChanges(query: ChangeQuery): Promise<Change[]>;
  /** ID of the newest changefeed record, 0 when there is none (a cheaper `getChanges({changeId: -1, records: -1})`). */
  latestChangeId(): Promise<number>;

  /** Server-held keys of a role, oldest first. */
  getServerKeys(gun: string, role: 'timestamp' | 'snapshot'): Promise<ServerKeyRecord[]>;
  addServerKey(record: Omit<ServerKeyRecord, 'createdAt'>): Promise<void>;
  /** The newest server-held key of any GUN, or null when none is stored (a startup passphrase check). */
  newestServerKey(): Promise<ServerKeyRecord | null>;

  /**
   * Hear about committed changes of any GUN, from this process and (PostgreSQL)
   * from every other process on the same database, for cache invalidation.
   * Resolves once listening; call the returned function to stop. Optional so
   * test doubles need not implement it; both SQL stores do.
   */
  subscribe?(onChange: ChangeListener, onReset?: ResetListener): Promise<() => void>;

  /** Liveness check for /_notary_server/health. @throws when the database is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A server key an update was signed with is no longer stored (UpdateOptions.serverKeys): nothing was stored. */
export class ServerKeyGoneError extends StorageError {
  constructor(
    readonly gun: string,
    readonly missing: readonly ServerKeyRef[],
  ) {
    super('SERVER_KEY_MISSING', `the ${missing.map((k) => `${k.role} key ${k.keyId}`).join(' and ')} of ${gun} is no longer stored (the GUN was deleted meanwhile?); nothing was stored`);
  }
}

/** A version was not newer than the stored one; Notary's `VERSION` error. */
export class VersionConflictError extends StorageError {
  readonly role: string;
  readonly version: number;
  /** `reason` replaces the default message (e.g. a role sent twice in one update). */
  constructor(role: string, version: number, options?: { cause?: unknown; reason?: string }) {
    super('VERSION_CONFLICT', options?.reason ?? `${role} version ${version} is not newer than the stored version; fetch the latest metadata and publish again`, options);
    this.role = role;
    this.version = version;
  }
}

// SPDX-License-Identifier: Apache-2.0
// Row shapes of the storage schema and their conversion to the contract's
// types. `pg` returns bigint as a string and bytea as Buffer; PGlite returns
// numbers and Uint8Array views: both are normalised here, and bytes are
// copied so a caller never holds a view into the driver's memory.

import { StateError } from '../../shared/errors.js';
import type { Change, ServerKeyRecord, StoredFile } from './meta-store.js';

export interface FileRow {
  gun: string;
  role: string;
  version: number | string;
  sha256: string;
  data: Uint8Array;
  created_at: Date | string;
}

export interface ChangeRow {
  id: string;
  created_at: Date | string;
  gun: string;
  version: number | string;
  sha256: string;
  category: string;
}

export interface KeyRow {
  gun: string;
  role: string;
  key_id: string;
  key_type: string;
  public_value: string;
  encrypted_private: Uint8Array;
  created_at: Date | string;
}

export const FILE_COLUMNS = 'gun, role, version, sha256, data, created_at';
export const CHANGE_COLUMNS = 'id::text AS id, created_at, gun, version, sha256, category';
export const KEY_COLUMNS = 'gun, role, key_id, key_type, public_value, encrypted_private, created_at';

const toDate = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));
const toBuffer = (v: Uint8Array): Buffer => Buffer.from(v);

export function toStoredFile(row: FileRow): StoredFile {
  return { gun: row.gun, role: row.role, version: Number(row.version), sha256: row.sha256, data: toBuffer(row.data), createdAt: toDate(row.created_at) };
}

export function toChange(row: ChangeRow): Change {
  return {
    id: row.id,
    createdAt: toDate(row.created_at),
    gun: row.gun,
    version: Number(row.version),
    sha256: row.sha256,
    category: row.category === 'deletion' ? 'deletion' : 'update',
  };
}

export function toServerKey(row: KeyRow): ServerKeyRecord {
  return {
    gun: row.gun,
    role: row.role === 'snapshot' ? 'snapshot' : 'timestamp',
    keyId: row.key_id,
    keyType: row.key_type,
    publicValue: row.public_value,
    encryptedPrivate: toBuffer(row.encrypted_private),
    createdAt: toDate(row.created_at),
  };
}

/** PostgreSQL text cannot hold NUL, and an empty GUN or role names nothing. */
export function isStorableName(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && !value.includes('\u0000');
}

/** For writes: a bad name is a bug in the caller (the HTTP layer validates GUNs and roles first). */
export function assertName(what: string, value: unknown): asserts value is string {
  if (!isStorableName(value)) throw new StateError(`${what} must be a non-empty string without NUL characters; validate it before calling the store`);
}

export function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

// SPDX-License-Identifier: Apache-2.0
// Read-through view of one GUN's stored metadata during a single operation:
// each role is read from the store at most once and parsed at most once, so
// every step of a publish judges the same bytes.

import { StorageError, TrustError } from '../../shared/errors.js';
import type { SignedOf } from '../../shared/codec/codec.js';
import type { NotaryCodec } from '../../shared/codec/notary.js';
import type { Envelope, SignedType } from '../../shared/tuf/model.js';
import type { MetaStore, StoredFile } from '../storage/meta-store.js';

/** A role's exact bytes and their parse, from the update or from the store. */
export interface LoadedRole<T extends SignedType> {
  readonly role: string;
  readonly data: Buffer;
  readonly envelope: Envelope<SignedOf<T>>;
  readonly source: 'upload' | 'store';
}

/** Parsed stored envelopes by GUN, role, type and sha256 (envelopes are never modified once parsed). */
const parsedStored = new Map<string, Envelope>();
const MAX_PARSED = 4096;

export class RepoView {
  private readonly files = new Map<string, Promise<StoredFile | null>>();

  constructor(
    private readonly store: MetaStore,
    readonly codec: NotaryCodec,
    readonly gun: string,
  ) {}

  /** Read the current files of `roles` in one query, for later file()/load(). */
  prefetch(roles: readonly string[]): void {
    const missing = roles.filter((r) => !this.files.has(r));
    if (missing.length < 2) return;
    const all = this.store.getCurrentMany(this.gun, missing);
    for (const role of missing) {
      const file = all.then((m) => m.get(role) ?? null);
      // A role the operation never reaches must not turn a failed read into an unhandled rejection.
      file.catch(() => undefined);
      this.files.set(role, file);
    }
  }

  /** The current stored file of a role, or null. */
  file(role: string): Promise<StoredFile | null> {
    let p = this.files.get(role);
    if (p === undefined) {
      p = this.store.getCurrent(this.gun, role);
      this.files.set(role, p);
    }
    return p;
  }

  /**
   * The current stored metadata of a role, parsed, or null when there is none.
   * @throws {StorageError} when stored bytes do not parse (they were checked on upload, so the store is damaged).
   */
  async load<T extends SignedType>(role: string, type: T): Promise<LoadedRole<T> | null> {
    const f = await this.file(role);
    if (f === null) return null;
    // Every publish re-reads the current root, targets, snapshot and timestamp; their parse is
    // reused while the bytes are the same. Found by the row's sha256, used only if the bytes match.
    const key = `${this.gun}\0${role}\0${type}\0${f.sha256}`;
    const known = parsedStored.get(key) as Envelope<SignedOf<T>> | undefined;
    if (known !== undefined && known.raw.equals(f.data)) return { role, data: f.data, envelope: known, source: 'store' };
    const envelope = this.parseStored(role, f.data, type);
    if (parsedStored.size >= MAX_PARSED) parsedStored.clear();
    parsedStored.set(key, envelope);
    return { role, data: f.data, envelope, source: 'store' };
  }

  /** Parse stored bytes of `role` (any version). @throws {StorageError} when they do not parse. */
  parseStored<T extends SignedType>(role: string, data: Buffer, type: T): Envelope<SignedOf<T>> {
    try {
      return this.codec.parse(data, type, { roleName: role });
    } catch (cause) {
      if (!(cause instanceof TrustError)) throw cause;
      throw new StorageError('STORAGE', `stored ${role} metadata of ${this.gun} no longer parses; the database was altered: restore it or delete the repository`, { cause });
    }
  }
}

// SPDX-License-Identifier: Apache-2.0
// What the HTTP layer asks of the trust domain. Handlers stay thin: they
// validate the request shape and call one of these; the domain validates
// metadata with the shared verifier and talks to the MetaStore.

import type { StoredFile } from '../storage/meta-store.js';
import type { TrustError } from '../../shared/errors.js';

/** One multipart part of a publish: the role (filename minus `.json`) and its exact bytes. */
export interface UpdatePart {
  readonly role: string;
  readonly data: Buffer;
}

/** A server-held public key as the `.key` endpoints return it. */
export interface ServerPublicKey {
  readonly keyType: string;
  readonly publicValue: string;
}

/**
 * An update was refused. `notaryName` is the Go error type notary-server reports in
 * `detail.Name` (ErrBadRoot, ErrBadTargets, ErrBadSnapshot, ErrBadHierarchy, ErrValidation),
 * so the stock notary client prints a meaningful message.
 */
export interface UpdateRefusal extends TrustError {
  readonly notaryName: 'ErrBadRoot' | 'ErrBadTargets' | 'ErrBadSnapshot' | 'ErrBadHierarchy' | 'ErrValidation';
  /** ErrBadHierarchy only: the role the update lacks (notary's `Missing`, e.g. `snapshot`). */
  readonly missing?: string | undefined;
}

export interface TrustService {
  /**
   * Validate and store one publish atomically (notary-wire.md §7).
   * @throws UpdateRefusal when the metadata is invalid; VersionConflictError when a version is not newer.
   */
  applyUpdate(gun: string, parts: readonly UpdatePart[]): Promise<void>;
  /** Current metadata; for `timestamp` (and `snapshot` when the server holds its key) re-signed first if expired. Null when absent. */
  getCurrent(gun: string, role: string): Promise<StoredFile | null>;
  getByVersion(gun: string, role: string, version: number): Promise<StoredFile | null>;
  getByChecksum(gun: string, role: string, sha256Hex: string): Promise<StoredFile | null>;
  /** GET <role>.key: the active server key of the role, created on first use. */
  getOrCreateKey(gun: string, role: 'timestamp' | 'snapshot'): Promise<ServerPublicKey>;
  /** POST <role>.key: a new key, active once a root listing it is published. */
  rotateKey(gun: string, role: 'timestamp' | 'snapshot'): Promise<ServerPublicKey>;
  deleteGun(gun: string): Promise<void>;
}

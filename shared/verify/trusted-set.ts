// SPDX-License-Identifier: Apache-2.0
// TrustedMetadataSet: the client's update state machine (python-tuf
// trusted_metadata_set.py, with notary's variant of notary-wire.md §4.2-4.3).
// Pure: bytes and one reference time in, verified envelopes or typed errors out.
//
// Loading rules:
//   - the constructor trusts the given root after checking it signs itself;
//   - roots are updated one version at a time, each signed by the previous
//     root's threshold and its own; no root update once a timestamp is loaded;
//   - then timestamp -> snapshot -> targets -> delegations, each guarded:
//     calling out of order is a StateError (a caller bug);
//   - intermediate metadata may be expired (an expired trusted copy still
//     protects against rollback); the final root, timestamp, snapshot and every
//     targets role must not be (freeze attacks);
//   - Notary meta carries no versions: the snapshot is compared with the
//     previously trusted snapshot, and a targets role with the version of the
//     caller's cached copy (`previousVersion`), as notary's RepoBuilder does.
// An instance is not meant to serve concurrent updates: build one per refresh.

import { EqualVersionError, BadVersionError, RepositoryError, StateError } from '../errors.js';
import type { MetadataCodec, SignedOf } from '../codec/codec.js';
import { verifyLengthAndHashes } from '../tuf/file-meta.js';
import type { DelegatedRole, Envelope, FileMeta, PublicKey, RoleKeys, RoleName, Root, SignedType, Snapshot, Targets, Timestamp } from '../tuf/model.js';
import { findDelegatedRole, parentOf, resolveRoleScope, type RoleScope } from './delegations.js';
import { verifyNotExpired } from './expiry.js';
import { lookupTarget, listTargets, type LookupOptions, type TargetMatch } from './lookup.js';
import { verifyFinalRoot, verifyRootUpdate } from './root.js';
import type { RootKeyRules } from './root-key-rules.js';
import { verifyDelegate, type ThresholdOptions } from './threshold.js';

/** A codec that may take the role a targets file belongs to (notaryCodec does; any MetadataCodec fits). */
export type RoleAwareCodec = MetadataCodec & {
  parse<T extends SignedType>(bytes: Uint8Array, expected: T, options?: { readonly roleName?: string }): Envelope<SignedOf<T>>;
};

export interface TrustedSetOptions {
  readonly gun: string;
  /** Reference time for every expiry check of this refresh. */
  readonly now: Date;
  readonly codec: RoleAwareCodec;
  readonly rules: RootKeyRules;
}

export interface TargetsUpdateOptions {
  /** Version of the caller's cached copy of this role; the new one must not be lower. */
  readonly previousVersion?: number;
  /** The caller's cached bytes of a role, asked only for a delegation the new snapshot dropped (see updateDelegatedTargets). */
  readonly cachedRole?: (role: RoleName) => Uint8Array | null | undefined;
}

export class TrustedMetadataSet {
  readonly #options: TrustedSetOptions;
  readonly #threshold: ThresholdOptions;
  #root: Envelope<Root>;
  #timestamp: Envelope<Timestamp> | undefined;
  #snapshot: Envelope<Snapshot> | undefined;
  readonly #targets = new Map<RoleName, Envelope<Targets>>();
  /** Delegations the trusted snapshot recorded and the new one dropped; see #checkSnapshotRollback. */
  #droppedRoles = new Set<RoleName>();
  /** The trusted snapshot's records, kept beside a new snapshot to tell a re-signed delegator from an unchanged one. */
  #previousMeta: ReadonlyMap<RoleName, FileMeta> = new Map();

  /**
   * Trust `rootBytes` (the cached or bootstrapped root). It must be a well-formed
   * root signed by its own threshold; its expiry is checked only when it is final.
   * @throws {DeserializationError | RepositoryError | UnsignedMetadataError}
   */
  constructor(rootBytes: Uint8Array, options: TrustedSetOptions) {
    this.#options = options;
    this.#threshold = { signedBytes: (tree) => options.codec.signedBytes(tree) };
    const root = options.codec.parse(rootBytes, 'root');
    verifyRootUpdate(null, root, { ...this.#rootOptions(), final: false });
    this.#root = root;
  }

  get root(): Envelope<Root> {
    return this.#root;
  }
  get timestamp(): Envelope<Timestamp> | undefined {
    return this.#timestamp;
  }
  get snapshot(): Envelope<Snapshot> | undefined {
    return this.#snapshot;
  }
  get targets(): Envelope<Targets> | undefined {
    return this.#targets.get('targets');
  }
  /** Verified `targets` or delegation metadata by role name. */
  getTargets(role: RoleName): Envelope<Targets> | undefined {
    return this.#targets.get(role);
  }
  /** Names of the targets roles loaded so far, in load order. */
  get loadedTargetsRoles(): RoleName[] {
    return [...this.#targets.keys()];
  }

  #rootOptions(): Parameters<typeof verifyRootUpdate>[2] {
    const { gun, now, rules } = this.#options;
    return { gun, now, rules, ...this.#threshold };
  }

  /**
   * Move trust to the next root version (client root walk).
   * @throws {StateError} once a timestamp is loaded.
   * @throws {BadVersionError} unless the version is exactly trusted+1.
   * @throws {UnsignedMetadataError | RepositoryError} see verifyRootUpdate.
   */
  updateRoot(bytes: Uint8Array): Envelope<Root> {
    if (this.#timestamp !== undefined) throw new StateError('cannot update root after the timestamp is loaded; start a new refresh with the new root');
    const next = this.#options.codec.parse(bytes, 'root');
    // TUF 5.3.4-5.3.5: old threshold, own threshold, version +1; intermediate roots may be expired.
    verifyRootUpdate(this.#root, next, { ...this.#rootOptions(), versionSteps: [1], final: false });
    this.#root = next;
    return next;
  }

  /**
   * Load a timestamp: first the cached one (optional), then the fetched one.
   * @throws {StateError} once a snapshot is loaded.
   * @throws {ExpiredMetadataError} when the final root or this timestamp has expired (it is stored first, for rollback checks).
   * @throws {EqualVersionError} when the version equals the trusted timestamp's: keep using the trusted one.
   * @throws {BadVersionError} VERSION_ROLLBACK when the version (or the recorded snapshot version) went down.
   */
  updateTimestamp(bytes: Uint8Array): Envelope<Timestamp> {
    if (this.#snapshot !== undefined) throw new StateError('cannot update the timestamp after the snapshot is loaded');
    // TUF 5.3.10: the root we ended the walk on is final now.
    verifyFinalRoot(this.#root, this.#options);
    const next = this.#options.codec.parse(bytes, 'timestamp');
    verifyDelegate('timestamp', this.#root.signed.keys, this.#requireRole('timestamp'), next, this.#threshold);
    const trusted = this.#timestamp;
    if (trusted !== undefined) {
      // TUF 5.4.3: rollback protection against the trusted timestamp.
      if (next.signed.version < trusted.signed.version) {
        throw new BadVersionError('VERSION_ROLLBACK', `timestamp version ${next.signed.version} is lower than the trusted version ${trusted.signed.version}; the server is replaying old metadata`);
      }
      if (next.signed.version === trusted.signed.version) throw new EqualVersionError(`timestamp version ${next.signed.version} is already trusted`);
      const oldMeta = trusted.signed.meta.get('snapshot')?.version;
      const newMeta = next.signed.meta.get('snapshot')?.version;
      if (oldMeta !== undefined && newMeta !== undefined && newMeta < oldMeta) {
        throw new BadVersionError('VERSION_ROLLBACK', `timestamp records snapshot version ${newMeta}, lower than the trusted ${oldMeta}; the server is replaying old metadata`);
      }
    }
    this.#timestamp = next;
    // TUF 5.4.4: stored even when expired so it still guards the next update against rollback.
    verifyNotExpired('timestamp', next.signed, this.#options.now);
    return next;
  }

  /**
   * Load the snapshot the trusted timestamp points at. `trusted: true` skips the
   * hash check for a copy the caller verified before (python-tuf); Notary clients verify cached copies too.
   * @throws {StateError} before a timestamp or after targets.
   * @throws {ExpiredMetadataError} when the timestamp or this snapshot has expired.
   * @throws {LengthOrHashMismatchError} when the bytes do not match the timestamp's meta.
   * @throws {BadVersionError} VERSION_ROLLBACK against the previously trusted snapshot.
   * @throws {RepositoryError} MISSING_META when a role of the previous snapshot disappeared.
   */
  updateSnapshot(bytes: Uint8Array, options: { trusted?: boolean } = {}): Envelope<Snapshot> {
    const timestamp = this.#timestamp;
    if (timestamp === undefined) throw new StateError('cannot load the snapshot before the timestamp');
    if (this.#targets.size > 0) throw new StateError('cannot update the snapshot after targets are loaded');
    verifyNotExpired('timestamp', timestamp.signed, this.#options.now);
    const meta = timestamp.signed.meta.get('snapshot');
    if (meta === undefined) throw new RepositoryError('MISSING_META', 'the trusted timestamp records no snapshot; the repository is broken');
    // TUF 5.5.2: endless data and mix-and-match are stopped by the timestamp's length and hashes.
    if (options.trusted !== true) verifyLengthAndHashes(bytes, meta, 'snapshot');
    const next = this.#options.codec.parse(bytes, 'snapshot');
    verifyDelegate('snapshot', this.#root.signed.keys, this.#requireRole('snapshot'), next, this.#threshold);
    const trusted = this.#snapshot;
    this.#droppedRoles = trusted === undefined ? new Set() : this.#checkSnapshotRollback(trusted.signed, next.signed);
    this.#previousMeta = trusted === undefined ? new Map() : trusted.signed.meta;
    this.#snapshot = next;
    // TUF 5.5.6: stored first so an expired copy still guards against rollback.
    verifyNotExpired('snapshot', next.signed, this.#options.now);
    if (meta.version !== undefined && meta.version !== next.signed.version) {
      throw new BadVersionError('VERSION_JUMP', `timestamp records snapshot version ${meta.version}, but the snapshot is version ${next.signed.version}`);
    }
    return next;
  }

  #checkSnapshotRollback(old: Snapshot, next: Snapshot): Set<RoleName> {
    // Notary: version >= the cached snapshot's (meta carries no version to compare with).
    if (next.version < old.version) {
      throw new BadVersionError('VERSION_ROLLBACK', `snapshot version ${next.version} is lower than the trusted version ${old.version}; the server is replaying old metadata`);
    }
    // TUF 5.5.5: no role may vanish, no recorded version may go down.
    // Notary: `delegation remove` drops the role's snapshot entry, so a vanished
    // delegation is accepted here and judged when its delegator loads: if the
    // delegator still lists it, the snapshot is hiding it (updateDelegatedTargets).
    const dropped = new Set<RoleName>();
    for (const [role, oldMeta] of old.meta) {
      const newMeta = next.meta.get(role);
      if (newMeta === undefined && (role === 'root' || role === 'targets')) {
        throw new RepositoryError('MISSING_META', `snapshot version ${next.version} drops ${role}, which the trusted snapshot version ${old.version} recorded; refusing a possible rollback`);
      }
      if (newMeta === undefined) {
        dropped.add(role);
        continue;
      }
      if (oldMeta.version !== undefined && newMeta.version !== undefined && newMeta.version < oldMeta.version) {
        throw new BadVersionError('VERSION_ROLLBACK', `snapshot version ${next.version} records ${role} version ${newMeta.version}, lower than the trusted ${oldMeta.version}`);
      }
    }
    return dropped;
  }

  /**
   * Whether the trusted root is stale: the snapshot's `meta.root` does not match
   * the trusted root's bytes. Notary's client then fetches `root.<sha256>.json`
   * (hex of `rootMeta().hashes.sha256`) and walks root versions in a new set.
   * @throws {StateError} before the snapshot is loaded.
   */
  rootUpdateNeeded(): boolean {
    const meta = this.rootMeta();
    if (meta === undefined) return false;
    try {
      verifyLengthAndHashes(this.#root.raw, meta, 'root');
      return false;
    } catch (error) {
      if (error instanceof RepositoryError) return true;
      throw error;
    }
  }

  /** The snapshot's record of the current root, if any. */
  rootMeta(): FileMeta | undefined {
    if (this.#snapshot === undefined) throw new StateError('root staleness is known only after the snapshot is loaded');
    return this.#snapshot.signed.meta.get('root');
  }

  /** Load top-level targets. Same rules as updateDelegatedTargets with delegator root. */
  updateTargets(bytes: Uint8Array, options: TargetsUpdateOptions = {}): Envelope<Targets> {
    return this.updateDelegatedTargets(bytes, 'targets', 'root', options);
  }

  /**
   * Load `role`'s targets metadata, delegated by `delegator` (already loaded).
   * @throws {StateError} before the snapshot, or before the delegator is loaded.
   * @throws {ExpiredMetadataError} when the snapshot or this metadata has expired.
   * @throws {RepositoryError} BAD_DELEGATION when `delegator` does not delegate to `role`; MISSING_META when the snapshot has no entry.
   * @throws {LengthOrHashMismatchError} when the bytes do not match the snapshot's meta.
   * @throws {UnsignedMetadataError} when the delegator's keys do not meet the threshold.
   * @throws {BadVersionError} VERSION_ROLLBACK below `previousVersion`.
   */
  updateDelegatedTargets(bytes: Uint8Array, role: RoleName, delegator: RoleName, options: TargetsUpdateOptions = {}): Envelope<Targets> {
    const snapshot = this.#snapshot;
    if (snapshot === undefined) throw new StateError(`cannot load ${role} before the snapshot`);
    // TUF 5.6: the snapshot must still be valid when it vouches for targets.
    verifyNotExpired('snapshot', snapshot.signed, this.#options.now);
    const { keys, roleKeys } = this.#delegationOf(role, delegator);
    const meta = snapshot.signed.meta.get(role);
    if (meta === undefined) throw new RepositoryError('MISSING_META', `the snapshot records no ${role}; it cannot be trusted`);
    // TUF 5.6.2: mix-and-match and endless data.
    verifyLengthAndHashes(bytes, meta, role);
    const next = this.#options.codec.parse(bytes, 'targets', { roleName: role });
    verifyDelegate(role, keys, roleKeys, next, this.#threshold);
    if (meta.version !== undefined && meta.version !== next.signed.version) {
      throw new BadVersionError(meta.version > next.signed.version ? 'VERSION_ROLLBACK' : 'VERSION_JUMP', `snapshot records ${role} version ${meta.version}, but the file is version ${next.signed.version}`);
    }
    // Notary: meta has no version, so compare with the cached copy of the same role (RepoBuilder minVersion).
    if (options.previousVersion !== undefined && next.signed.version < options.previousVersion) {
      throw new BadVersionError('VERSION_ROLLBACK', `${role} version ${next.signed.version} is lower than the cached version ${options.previousVersion}; the server is replaying old metadata`);
    }
    verifyNotExpired(role, next.signed, this.#options.now);
    // A child the new snapshot dropped while its delegator still lists it is hidden by the
    // snapshot's signer, unless the delegation was re-made so that its last trusted file no longer
    // verifies (`delegation remove` then `add` with a new key, as notary writes it): that child has
    // no snapshot record until its delegate publishes, and is then simply absent, as notary treats it.
    const recorded = this.#previousMeta.get(role);
    for (const child of next.signed.delegations?.roles ?? []) {
      if (!this.#droppedRoles.has(child.name)) continue;
      const unchanged = recorded !== undefined && sameFile(recorded, meta);
      if (unchanged || this.#stillVerifies(child, next.signed.delegations?.keys ?? new Map(), options.cachedRole?.(child.name))) {
        throw new RepositoryError(
          'MISSING_META',
          `the snapshot drops ${child.name}, which the trusted snapshot recorded, yet ${role} still delegates to it ${unchanged ? 'unchanged' : 'with keys its last file still meets'}; ` +
            `refusing an attempt to hide its targets (if the owner removed and re-added it with the same key, its delegate must publish it again: signet witness ${this.#options.gun} ${child.name} -p, from a trust dir that has not cached the older snapshot)`,
        );
      }
    }
    this.#targets.set(role, next);
    return next;
  }

  /** Whether the cached file of a delegated role still meets the delegation's keys and threshold. */
  #stillVerifies(entry: DelegatedRole, keys: ReadonlyMap<string, PublicKey>, bytes: Uint8Array | null | undefined): boolean {
    if (bytes === null || bytes === undefined) return false;
    try {
      verifyDelegate(entry.name, keys, entry, this.#options.codec.parse(bytes, 'targets', { roleName: entry.name }), this.#threshold);
      return true;
    } catch {
      return false;
    }
  }

  #delegationOf(role: RoleName, delegator: RoleName): { keys: ReadonlyMap<string, PublicKey>; roleKeys: RoleKeys } {
    if (role === 'targets') {
      if (delegator !== 'root') throw new RepositoryError('BAD_DELEGATION', `targets is delegated by root, not ${delegator}`);
      return { keys: this.#root.signed.keys, roleKeys: this.#requireRole('targets') };
    }
    const parent = this.#targets.get(delegator);
    if (parent === undefined) throw new StateError(`cannot load ${role} before its delegator ${delegator}`);
    const entry = parentOf(role) === delegator ? findDelegatedRole(parent.signed, delegator, role) : undefined;
    if (entry === undefined) throw new RepositoryError('BAD_DELEGATION', `invalid role ${role}: ${delegator} does not delegate to it`);
    return { keys: parent.signed.delegations?.keys ?? new Map(), roleKeys: entry };
  }

  #requireRole(role: 'root' | 'targets' | 'snapshot' | 'timestamp'): RoleKeys {
    const entry = this.#root.signed.roles.get(role);
    if (entry === undefined) throw new RepositoryError('BAD_ROOT', `the trusted root defines no ${role} role`);
    return entry;
  }

  /** Scope (effective paths) of a loaded role. */
  scopeOf(role: RoleName): RoleScope {
    return resolveRoleScope(role, (r) => this.#targets.get(r)?.signed);
  }

  /** Find a target among the loaded targets roles, in notary's search order. */
  lookupTarget(name: string, options?: LookupOptions): TargetMatch | undefined {
    return lookupTarget(name, (r) => this.#targets.get(r)?.signed, options);
  }

  /** Every target visible through the loaded targets roles. */
  listTargets(options?: LookupOptions): TargetMatch[] {
    return listTargets((r) => this.#targets.get(r)?.signed, options);
  }
}

/** Same length and SHA-256 in two snapshot records of one role. */
function sameFile(a: FileMeta, b: FileMeta): boolean {
  const ha = a.hashes.get('sha256');
  const hb = b.hashes.get('sha256');
  return a.length === b.length && ha !== undefined && hb !== undefined && ha.equals(hb);
}

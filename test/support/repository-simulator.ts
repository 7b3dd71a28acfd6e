// SPDX-License-Identifier: Apache-2.0
// An in-memory Notary-dialect repository with real keys (python-tuf
// repository_simulator.py, go-tuf simulator). Keys are made the way notary
// makes them: root = P-256 key behind a self-signed certificate with CN = GUN,
// targets = plain ECDSA P-256, snapshot/timestamp = Ed25519 (the server's local
// signer), delegations = P-256 certificates. Files are the exact bytes a notary
// server would serve (Go layout via the notary codec), kept per version.
//
// Mutations mark roles dirty; publish() re-signs dirty targets roles (bumping
// their version), then a new snapshot and timestamp, as notary-server does.
// Root changes are published explicitly with publishRoot().

import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { notaryCodec } from '../../shared/codec/notary.js';
import { publicKeyFromCertificatePem, publicKeyFromKeyObject } from '../../shared/codec/notary-keys.js';
import { certificateSignerFromKeyObject, createKeyObjectSigner, createSelfSignedCertificate } from '../../shared/crypto/index.js';
import type { JSONObject } from '../../shared/json/types.js';
import { formatExpires } from '../../shared/time.js';
import { roleMetaFromBytes } from '../../shared/tuf/file-meta.js';
import type { DelegatedRole, Expiry, FileMeta, PublicKey, RoleKeys, RoleName, Signed, Signer, TargetFile, TopLevelRole } from '../../shared/tuf/model.js';
import { TrustedMetadataSet } from '../../shared/verify/trusted-set.js';
import { notaryRootKeyRules } from '../../shared/verify/root-key-rules.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SimKey {
  readonly privateKey: KeyObject;
  readonly publicKey: PublicKey;
  readonly signer: Signer;
}

export type KeyKind = 'ecdsa' | 'ed25519' | 'rsa';

interface RoleState {
  keys: SimKey[];
  /** Sign with these instead of `keys` (forgeries: keys the delegator does not list). */
  signers?: SimKey[];
  threshold: number;
  version: number;
  expires: Date;
}

interface TargetsState extends RoleState {
  targets: Map<string, TargetFile>;
  /** Delegated roles, in priority order, with the keys that sign them. */
  children: DelegatedRole[];
}

export interface DelegationOptions {
  readonly paths?: readonly string[];
  readonly pathHashPrefixes?: readonly string[];
  readonly threshold?: number;
  readonly keys?: readonly SimKey[];
}

function expiry(date: Date): Expiry {
  return { text: formatExpires(date), ms: date.getTime() };
}

export class RepositorySimulator {
  readonly gun: string;
  /** The simulated clock: every default expiry and certificate window is relative to it. */
  readonly now: Date;
  readonly root: RoleState;
  readonly snapshot: RoleState;
  readonly timestamp: RoleState;
  readonly targetsRoles = new Map<RoleName, TargetsState>();
  /** Every published file by role, index = version; roots are published separately. */
  readonly files = new Map<RoleName, Map<number, Buffer>>();
  readonly #dirty = new Set<RoleName>();
  /** Root keys of the last published root: they sign the next root too (rotation). */
  #previousRootKeys: SimKey[] = [];

  private constructor(gun: string, now: Date, rootKeys: SimKey[], targetsKey: SimKey, snapshotKey: SimKey, timestampKey: SimKey) {
    this.gun = gun;
    this.now = now;
    this.root = { keys: rootKeys, threshold: 1, version: 0, expires: new Date(now.getTime() + 3650 * DAY_MS) };
    this.snapshot = { keys: [snapshotKey], threshold: 1, version: 0, expires: new Date(now.getTime() + 3 * 365 * DAY_MS) };
    this.timestamp = { keys: [timestampKey], threshold: 1, version: 0, expires: new Date(now.getTime() + 14 * DAY_MS) };
    this.targetsRoles.set('targets', { keys: [targetsKey], threshold: 1, version: 0, expires: new Date(now.getTime() + 3 * 365 * DAY_MS), targets: new Map(), children: [] });
  }

  /** A repository with root v1, targets, snapshot and timestamp v1 published. */
  static async create(options: { gun?: string; now?: Date } = {}): Promise<RepositorySimulator> {
    const gun = options.gun ?? 'example.com/sim';
    const now = options.now ?? new Date('2030-06-01T00:00:00Z');
    const sim = new RepositorySimulator(gun, now, [], RepositorySimulator.newKey('ecdsa'), RepositorySimulator.newKey('ed25519'), RepositorySimulator.newKey('ed25519'));
    sim.root.keys = [await sim.newRootKey()];
    await sim.publishRoot();
    sim.#dirty.add('targets');
    await sim.publish();
    return sim;
  }

  /** A plain key (notary keytype ecdsa / ed25519 / rsa). */
  static newKey(kind: KeyKind): SimKey {
    const { privateKey } =
      kind === 'ecdsa' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
    const publicKey = publicKeyFromKeyObject(privateKey);
    return { privateKey, publicKey, signer: createKeyObjectSigner(privateKey, publicKey) };
  }

  /** A P-256 key behind a self-signed certificate (notary keytype ecdsa-x509). */
  static async newCertificateKey(commonName: string, window: { notBefore: Date; notAfter: Date }, kind: 'ecdsa' | 'rsa' = 'ecdsa'): Promise<SimKey> {
    const { privateKey, publicKey: spkiKey } = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = await createSelfSignedCertificate({
      commonName,
      publicKeySpki: spkiKey.export({ type: 'spki', format: 'der' }),
      notBefore: window.notBefore,
      notAfter: window.notAfter,
      sign: certificateSignerFromKeyObject(privateKey),
    });
    const publicKey = publicKeyFromCertificatePem(pem);
    return { privateKey, publicKey, signer: createKeyObjectSigner(privateKey, publicKey) };
  }

  /** The same key pair behind a certificate: one public key under a second key ID. */
  static async certificateFor(key: SimKey, commonName: string, window: { notBefore: Date; notAfter: Date }): Promise<SimKey> {
    const pem = await createSelfSignedCertificate({
      commonName,
      publicKeySpki: key.publicKey.spki!,
      notBefore: window.notBefore,
      notAfter: window.notAfter,
      sign: certificateSignerFromKeyObject(key.privateKey),
    });
    const publicKey = publicKeyFromCertificatePem(pem);
    return { privateKey: key.privateKey, publicKey, signer: createKeyObjectSigner(key.privateKey, publicKey) };
  }

  /** A root key as `notary init` makes it: certificate with CN = GUN, valid from a day ago for 10 years. */
  newRootKey(options: { commonName?: string; notBefore?: Date; notAfter?: Date } = {}): Promise<SimKey> {
    const notBefore = options.notBefore ?? new Date(this.now.getTime() - DAY_MS);
    const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 3650 * DAY_MS);
    return RepositorySimulator.newCertificateKey(options.commonName ?? this.gun, { notBefore, notAfter });
  }

  #state(role: RoleName): RoleState {
    const s = role === 'root' ? this.root : role === 'snapshot' ? this.snapshot : role === 'timestamp' ? this.timestamp : this.targetsRoles.get(role);
    if (s === undefined) throw new Error(`simulator has no role ${role}`);
    return s;
  }

  targetsState(role: RoleName): TargetsState {
    const s = this.targetsRoles.get(role);
    if (s === undefined) throw new Error(`simulator has no targets role ${role}`);
    return s;
  }

  /** Replace a role's keys; root-held roles need publishRoot(), delegations a publish of the parent. */
  setKeys(role: RoleName, keys: readonly SimKey[], threshold = 1): void {
    const s = this.#state(role);
    s.keys = [...keys];
    s.threshold = threshold;
    this.#markKeysChanged(role);
  }

  /** Sign `role` with `signers` from now on, whatever keys its delegator lists. */
  signWith(role: RoleName, signers: readonly SimKey[]): void {
    this.#state(role).signers = [...signers];
    this.#dirty.add(role);
  }

  /** New keys for `role` (same number); root keys get a certificate for the GUN. */
  async rotateKeys(role: RoleName): Promise<SimKey[]> {
    const s = this.#state(role);
    const keys: SimKey[] = [];
    for (let i = 0; i < s.keys.length; i++) {
      keys.push(role === 'root' ? await this.newRootKey() : role === 'snapshot' || role === 'timestamp' ? RepositorySimulator.newKey('ed25519') : RepositorySimulator.newKey('ecdsa'));
    }
    this.setKeys(role, keys, s.threshold);
    return keys;
  }

  #markKeysChanged(role: RoleName): void {
    const parent = role.lastIndexOf('/') > 0 ? role.slice(0, role.lastIndexOf('/')) : undefined;
    if (parent !== undefined) {
      const p = this.targetsState(parent);
      p.children = p.children.map((c) => (c.name === role ? { ...c, keyIds: this.#state(role).keys.map((k) => k.publicKey.id), threshold: this.#state(role).threshold } : c));
      this.#dirty.add(parent);
    }
    this.#dirty.add(role);
  }

  addTarget(role: RoleName, name: string, content: string | Buffer, custom?: JSONObject): TargetFile {
    const meta = roleMetaFromBytes(Buffer.from(content));
    const file: TargetFile = { length: meta.length!, hashes: meta.hashes, ...(custom === undefined ? {} : { custom }) };
    this.targetsState(role).targets.set(name, file);
    this.#dirty.add(role);
    return file;
  }

  removeTarget(role: RoleName, name: string): void {
    this.targetsState(role).targets.delete(name);
    this.#dirty.add(role);
  }

  /** Delegate `name` from its parent (`path.Dir(name)`); keys default to one new P-256 certificate key. */
  async addDelegation(name: RoleName, options: DelegationOptions = {}): Promise<SimKey[]> {
    const parent = name.slice(0, name.lastIndexOf('/'));
    const p = this.targetsState(parent);
    const keys = options.keys !== undefined ? [...options.keys] : [await RepositorySimulator.newCertificateKey(`${name}-delegate`, { notBefore: new Date(this.now.getTime() - DAY_MS), notAfter: new Date(this.now.getTime() + 3650 * DAY_MS) })];
    const threshold = options.threshold ?? 1;
    const entry: DelegatedRole = {
      name,
      keyIds: keys.map((k) => k.publicKey.id),
      threshold,
      terminating: false,
      ...(options.paths === undefined ? {} : { paths: options.paths }),
      ...(options.pathHashPrefixes === undefined ? {} : { pathHashPrefixes: options.pathHashPrefixes }),
    };
    p.children = [...p.children.filter((c) => c.name !== name), entry];
    this.targetsRoles.set(name, { keys, threshold, version: 0, expires: new Date(this.now.getTime() + 3 * 365 * DAY_MS), targets: new Map(), children: [] });
    this.#dirty.add(parent).add(name);
    return keys;
  }

  /** Remove a delegation as `notary delegation remove` does: gone from its parent and from the next snapshot. */
  removeDelegation(name: RoleName): void {
    const parent = name.slice(0, name.lastIndexOf('/'));
    const p = this.targetsState(parent);
    p.children = p.children.filter((c) => c.name !== name);
    this.targetsRoles.delete(name);
    this.#dirty.add(parent);
  }

  /** Mark a role changed: the next publish (or publishRoot for root) signs a new version. */
  bumpVersion(role: RoleName): void {
    this.#dirty.add(role);
  }

  /** Make `role` expire at `when` (default: a day before the simulated now) from its next version on. */
  expire(role: RoleName, when: Date = new Date(this.now.getTime() - DAY_MS)): void {
    this.#state(role).expires = when;
    this.#dirty.add(role);
  }

  /**
   * What a compromised server (holding the snapshot and timestamp keys) can do:
   * serve an older, validly signed version of `role` as current. The next
   * publish() (for targets roles) or publishTimestamp() (for the snapshot)
   * records the old bytes.
   */
  serveOldVersion(role: RoleName, version: number): void {
    this.file(role, version);
    this.#state(role).version = version;
    this.#dirty.delete(role);
  }

  /** Current bytes of a role, or a given version. */
  file(role: RoleName, version?: number): Buffer {
    const versions = this.files.get(role);
    const v = version ?? this.#state(role).version;
    const bytes = versions?.get(v);
    if (bytes === undefined) throw new Error(`simulator has no ${role} version ${v}`);
    return bytes;
  }

  async #sign(signed: Signed, signers: readonly SimKey[], extra?: (tree: JSONObject) => void): Promise<Buffer> {
    const tree = notaryCodec.toSignedTree(signed);
    extra?.(tree);
    const bytes = notaryCodec.signedBytes(tree);
    const signatures = await Promise.all(signers.map((k) => k.signer.sign(bytes)));
    return notaryCodec.encode(tree, signatures);
  }

  #store(role: RoleName, version: number, bytes: Buffer): void {
    let versions = this.files.get(role);
    if (versions === undefined) this.files.set(role, (versions = new Map()));
    versions.set(version, bytes);
  }

  /**
   * Sign and store the next root (or `version`). Signed by `signers`, default the
   * current root keys plus the previous root's keys (what a rotation needs).
   */
  async publishRoot(options: { signers?: readonly SimKey[]; version?: number } = {}): Promise<Buffer> {
    const keys = new Map<string, PublicKey>();
    const roles = new Map<string, RoleKeys>();
    for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const satisfies readonly TopLevelRole[]) {
      const s = this.#state(role);
      for (const k of s.keys) keys.set(k.publicKey.id, k.publicKey);
      roles.set(role, { keyIds: s.keys.map((k) => k.publicKey.id), threshold: s.threshold });
    }
    const version = options.version ?? this.root.version + 1;
    const signers = options.signers ?? [...new Map([...this.root.keys, ...this.#previousRootKeys].map((k) => [k.publicKey.id, k])).values()];
    const bytes = await this.#sign({ type: 'root', version, expires: expiry(this.root.expires), keys, roles, consistentSnapshot: false }, signers);
    this.root.version = version;
    this.#previousRootKeys = [...this.root.keys];
    this.#store('root', version, bytes);
    this.#dirty.delete('root');
    return bytes;
  }

  #targetsModel(s: TargetsState): Signed {
    const keys = new Map<string, PublicKey>();
    for (const c of s.children) for (const k of this.targetsState(c.name).keys) keys.set(k.publicKey.id, k.publicKey);
    return { type: 'targets', version: s.version, expires: expiry(s.expires), targets: s.targets, delegations: { keys, roles: s.children } };
  }

  /** Re-sign dirty targets roles (version + 1), then a new snapshot and timestamp. */
  async publish(): Promise<void> {
    for (const [role, s] of this.targetsRoles) {
      if (!this.#dirty.has(role) && s.version > 0) continue;
      s.version += 1;
      // The notary codec drops path_hash_prefixes; put them back so tests can exercise them (signed like any member).
      const withHashPrefixes = (tree: JSONObject): void => {
        const roles = (tree.delegations as JSONObject).roles as JSONObject[];
        s.children.forEach((c, i) => {
          if (c.pathHashPrefixes !== undefined) roles[i]!.path_hash_prefixes = [...c.pathHashPrefixes];
        });
      };
      this.#store(role, s.version, await this.#sign(this.#targetsModel(s), s.signers ?? s.keys, withHashPrefixes));
    }
    const meta = new Map<RoleName, FileMeta>([['root', roleMetaFromBytes(this.file('root'))]]);
    for (const role of this.targetsRoles.keys()) meta.set(role, roleMetaFromBytes(this.file(role)));
    this.snapshot.version += 1;
    this.#store('snapshot', this.snapshot.version, await this.#sign({ type: 'snapshot', version: this.snapshot.version, expires: expiry(this.snapshot.expires), meta }, this.snapshot.signers ?? this.snapshot.keys));
    await this.publishTimestamp();
    this.#dirty.clear();
  }

  /** A new timestamp over the current snapshot. */
  async publishTimestamp(): Promise<void> {
    this.timestamp.version += 1;
    const meta = new Map<RoleName, FileMeta>([['snapshot', roleMetaFromBytes(this.file('snapshot'))]]);
    this.#store('timestamp', this.timestamp.version, await this.#sign({ type: 'timestamp', version: this.timestamp.version, expires: expiry(this.timestamp.expires), meta }, this.timestamp.signers ?? this.timestamp.keys));
  }

  /** A trusted set anchored on root `version` (default 1), judged at `now` (default the simulated now). */
  trust(options: { version?: number; now?: Date } = {}): TrustedMetadataSet {
    return new TrustedMetadataSet(this.file('root', options.version ?? 1), { gun: this.gun, now: options.now ?? this.now, codec: notaryCodec, rules: notaryRootKeyRules });
  }

  /** Walk roots up to the current one, then timestamp, snapshot, targets and every delegation (breadth-first). */
  refresh(set: TrustedMetadataSet): TrustedMetadataSet {
    for (let v = set.root.signed.version + 1; v <= this.root.version; v++) set.updateRoot(this.file('root', v));
    set.updateTimestamp(this.file('timestamp'));
    set.updateSnapshot(this.file('snapshot'));
    set.updateTargets(this.file('targets'));
    const queue: RoleName[] = ['targets'];
    for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
      for (const child of this.targetsState(parent).children) {
        set.updateDelegatedTargets(this.file(child.name), child.name, parent);
        queue.push(child.name);
      }
    }
    return set;
  }

  /** Hex SHA-256 of a target path, for path_hash_prefixes. */
  static pathHash(name: string): string {
    return createHash('sha256').update(name, 'utf8').digest('hex');
  }
}

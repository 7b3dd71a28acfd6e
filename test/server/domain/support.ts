// SPDX-License-Identifier: Apache-2.0
// Test support for the trust domain: a real store (embedded PGlite in a temp
// dir, or PostgreSQL in a schema of its own), a trust service over it with a
// pinned clock, and a publisher that builds client-side Notary metadata with
// the shared codec and real keys (root: certificate with CN = GUN; targets:
// P-256; delegations: P-256 certificates).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { notaryCodec } from '../../../shared/codec/notary.js';
import { makeNotaryPublicKey } from '../../../shared/codec/notary-keys.js';
import { TrustError } from '../../../shared/errors.js';
import { formatExpires } from '../../../shared/time.js';
import { roleMetaFromBytes } from '../../../shared/tuf/file-meta.js';
import type { DelegatedRole, FileMeta, PublicKey, RoleKeys, Signed, TargetFile } from '../../../shared/tuf/model.js';
import { TrustedMetadataSet } from '../../../shared/verify/trusted-set.js';
import { notaryRootKeyRules } from '../../../shared/verify/root-key-rules.js';
import { UpdateRefusalError, type NotaryErrorName } from '../../../server/domain/errors.js';
import type { UpdatePart } from '../../../server/domain/service.js';
import { createTrustService, type SignetTrustService, type TrustServiceOptions } from '../../../server/domain/trust-service.js';
import type { KdfParams } from '../../../server/signer/key-encryption.js';
import { createStoreSigner } from '../../../server/signer/store-signer.js';
import type { ServerSigner } from '../../../server/signer/server-signer.js';
import type { MetaStore } from '../../../server/storage/meta-store.js';
import { openStore } from '../../../server/storage/open-store.js';
import { RepositorySimulator, type SimKey } from '../../support/repository-simulator.js';
import { PG_URL, postgresReachable } from '../storage/backends.js';

export const DAY_MS = 24 * 60 * 60 * 1000;
/** Cheap scrypt for tests (the production default is 2^15). */
export const TEST_KDF: KdfParams = { logN: 10, r: 8, p: 1 };
export const TEST_PASSPHRASE = 'correct horse battery staple';
export { PG_URL };

export const uniqueGun = (label = 'app'): string => `example.com/${label}-${randomBytes(5).toString('hex')}`;

export interface TestStore {
  readonly store: MetaStore;
  close(): Promise<void>;
}

/** The embedded store in a fresh temporary directory. */
export async function openEmbeddedStore(label: string): Promise<TestStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `signet-h7-${label}-`));
  const store = await openStore({ dataDir: path.join(dir, 'data') });
  return {
    store,
    async close() {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PostgreSQL in a private schema, or null when it does not answer. */
export async function openPostgresStore(label: string): Promise<TestStore | null> {
  const schema = `h7_${label}_${process.pid}_${randomBytes(3).toString('hex')}`.toLowerCase();
  if (!(await postgresReachable())) return null;
  const store = await openStore({ databaseUrl: PG_URL, schema, poolSize: 6 });
  return {
    store,
    async close() {
      await store.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A settable clock. */
export class Clock {
  constructor(public current: Date) {}
  readonly now = (): Date => new Date(this.current.getTime());
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export function testSigner(store: MetaStore, passphrase = TEST_PASSPHRASE): ServerSigner {
  return createStoreSigner({ store, passphrase, kdf: TEST_KDF });
}

export function testService(store: MetaStore, clock: Clock, extra: Partial<TrustServiceOptions> = {}): SignetTrustService {
  return createTrustService({ store, signer: testSigner(store), now: clock.now, ...extra });
}

/** Assert that `promise` rejects with an UpdateRefusalError of this notary name and code. */
export async function assertRefused(promise: Promise<unknown>, notaryName: NotaryErrorName, code: string, message?: RegExp): Promise<UpdateRefusalError> {
  let caught: unknown;
  await assert.rejects(promise, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof UpdateRefusalError, `expected UpdateRefusalError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.equal(caught.notaryName, notaryName, caught.message);
  assert.equal(caught.code, code, caught.message);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

/** Assert a rejection with a TrustError of this class and code. */
export async function assertCode(promise: Promise<unknown>, cls: abstract new (...args: never[]) => TrustError, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

export const part = (role: string, data: Buffer): UpdatePart => ({ role, data });

export interface DelegationSpec {
  readonly name: string;
  readonly keys: readonly SimKey[];
  readonly threshold?: number;
  readonly paths?: readonly string[];
}

export interface TargetsSpec {
  readonly version: number;
  /** target name -> content */
  readonly targets?: Readonly<Record<string, string>>;
  readonly delegations?: readonly DelegationSpec[];
  readonly signers?: readonly SimKey[];
  readonly expires?: Date;
}

/**
 * Builds what a notary client would upload for one GUN. Root lists the
 * server's timestamp key and, with `serverSnapshot`, the server's snapshot key.
 */
export class Publisher {
  readonly targetsKey = RepositorySimulator.newKey('ecdsa');
  readonly snapshotKey = RepositorySimulator.newKey('ecdsa');
  snapshotOnServer: PublicKey | null = null;

  private constructor(
    readonly gun: string,
    readonly clock: Clock,
    public rootKey: SimKey,
    public timestampKey: PublicKey,
  ) {}

  static async create(service: SignetTrustService, clock: Clock, options: { gun?: string; serverSnapshot?: boolean } = {}): Promise<Publisher> {
    const gun = options.gun ?? uniqueGun();
    const rootKey = await Publisher.rootKeyFor(gun, clock);
    const ts = await service.getOrCreateKey(gun, 'timestamp');
    const p = new Publisher(gun, clock, rootKey, makeNotaryPublicKey(ts.keyType, ts.publicValue));
    if (options.serverSnapshot === true) {
      const sn = await service.getOrCreateKey(gun, 'snapshot');
      p.snapshotOnServer = makeNotaryPublicKey(sn.keyType, sn.publicValue);
    }
    return p;
  }

  static rootKeyFor(gun: string, clock: Clock): Promise<SimKey> {
    const notBefore = new Date(clock.current.getTime() - DAY_MS);
    return RepositorySimulator.newCertificateKey(gun, { notBefore, notAfter: new Date(notBefore.getTime() + 3650 * DAY_MS) });
  }

  expiresIn(days: number): Date {
    return new Date(this.clock.current.getTime() + days * DAY_MS);
  }

  async sign(signed: Signed, signers: readonly SimKey[]): Promise<Buffer> {
    const tree = notaryCodec.toSignedTree(signed);
    const bytes = notaryCodec.signedBytes(tree);
    return notaryCodec.encode(tree, await Promise.all(signers.map((k) => k.signer.sign(bytes))));
  }

  async root(options: { version?: number; signers?: readonly SimKey[]; rootKeys?: readonly SimKey[]; targets?: RoleKeys & { keys: readonly PublicKey[] }; timestampKey?: PublicKey; expires?: Date } = {}): Promise<Buffer> {
    const rootKeys = options.rootKeys ?? [this.rootKey];
    const snapshotKey = this.snapshotOnServer ?? this.snapshotKey.publicKey;
    const timestampKey = options.timestampKey ?? this.timestampKey;
    const targetsKeys = options.targets?.keys ?? [this.targetsKey.publicKey];
    const keys = new Map<string, PublicKey>();
    for (const k of [...rootKeys.map((r) => r.publicKey), ...targetsKeys, snapshotKey, timestampKey]) keys.set(k.id, k);
    const roles = new Map<string, RoleKeys>([
      ['root', { keyIds: rootKeys.map((k) => k.publicKey.id), threshold: 1 }],
      ['targets', options.targets ?? { keyIds: [this.targetsKey.publicKey.id], threshold: 1 }],
      ['snapshot', { keyIds: [snapshotKey.id], threshold: 1 }],
      ['timestamp', { keyIds: [timestampKey.id], threshold: 1 }],
    ]);
    return this.sign({ type: 'root', version: options.version ?? 1, expires: expiry(options.expires ?? this.expiresIn(3650)), keys, roles, consistentSnapshot: false }, options.signers ?? rootKeys);
  }

  async targets(role: string, spec: TargetsSpec): Promise<Buffer> {
    const targets = new Map<string, TargetFile>();
    for (const [name, content] of Object.entries(spec.targets ?? {})) {
      const m = roleMetaFromBytes(Buffer.from(content));
      targets.set(name, { length: m.length!, hashes: m.hashes });
    }
    const keys = new Map<string, PublicKey>();
    const roles: DelegatedRole[] = [];
    for (const d of spec.delegations ?? []) {
      for (const k of d.keys) keys.set(k.publicKey.id, k.publicKey);
      roles.push({ name: d.name, keyIds: d.keys.map((k) => k.publicKey.id), threshold: d.threshold ?? 1, terminating: false, ...(d.paths === undefined ? {} : { paths: d.paths }) });
    }
    const signers = spec.signers ?? (role === 'targets' ? [this.targetsKey] : []);
    return this.sign({ type: 'targets', version: spec.version, expires: expiry(spec.expires ?? this.expiresIn(3 * 365)), targets, delegations: { keys, roles } }, signers);
  }

  /** A client-signed snapshot over exact file bytes. */
  async snapshot(version: number, files: Readonly<Record<string, Buffer>>, signers: readonly SimKey[] = [this.snapshotKey], expires = this.expiresIn(3 * 365)): Promise<Buffer> {
    const meta = new Map<string, FileMeta>(Object.entries(files).map(([role, bytes]) => [role, roleMetaFromBytes(bytes)]));
    return this.sign({ type: 'snapshot', version, expires: expiry(expires), meta }, signers);
  }
}

export function expiry(d: Date): { text: string; ms: number } {
  return { text: formatExpires(d), ms: d.getTime() };
}

/** Walk what the service serves the way a Notary client does (shared TrustedMetadataSet), at `now`. */
export async function clientRefresh(service: SignetTrustService, gun: string, now: Date, delegations: readonly [string, string][] = []): Promise<TrustedMetadataSet> {
  const get = async (role: string): Promise<Buffer> => {
    const f = await service.getCurrent(gun, role);
    assert.ok(f !== null, `${role} is served`);
    return f.data;
  };
  const set = new TrustedMetadataSet(await get('root'), { gun, now, codec: notaryCodec, rules: notaryRootKeyRules });
  set.updateTimestamp(await get('timestamp'));
  set.updateSnapshot(await get('snapshot'));
  set.updateTargets(await get('targets'));
  for (const [role, parent] of delegations) set.updateDelegatedTargets(await get(role), role, parent);
  return set;
}

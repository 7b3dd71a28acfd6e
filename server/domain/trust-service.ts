// SPDX-License-Identifier: Apache-2.0
// The TrustService the HTTP layer calls (service.ts): publishes go through
// apply-update.ts, reads of `timestamp` and `snapshot` through the lazy
// re-signing of timestamp.ts, the `.key` endpoints through server-keys.ts.
// Defaults are notary's: Notary dialect, X.509 root keys with CN = GUN,
// 3-year snapshots and 14-day timestamps signed with ed25519 server keys.

import { notaryCodec, type NotaryCodec } from '../../shared/codec/notary.js';
import { DEFAULT_EXPIRY_SECONDS } from '../../shared/time.js';
import { notaryRootKeyRules, type RootKeyRules } from '../../shared/verify/root-key-rules.js';
import { createServerKeys } from '../signer/server-keys.js';
import type { ServerRole, ServerSigner } from '../signer/server-signer.js';
import type { MetaStore, StoredFile } from '../storage/meta-store.js';
import { applyUpdate } from './apply-update.js';
import type { DomainDeps, Lifetimes } from './deps.js';
import { DEFAULT_MAX_METADATA_BYTES } from './parse-parts.js';
import { RepoView } from './repo-view.js';
import type { ServerPublicKey, TrustService, UpdatePart } from './service.js';
import { refreshTimestamp, type RefreshMargins, type RefreshResult } from './timestamp.js';

export interface TrustServiceOptions {
  readonly store: MetaStore;
  /** Holds the server's timestamp and snapshot keys (store-signer.ts, or a PKCS#11 one). */
  readonly signer: ServerSigner;
  /** Clock; tests pin it. Default: the system clock. */
  readonly now?: () => Date;
  readonly codec?: NotaryCodec;
  readonly rootKeyRules?: RootKeyRules;
  /** Lifetimes of server-signed metadata, seconds. Default notary's: snapshot 3 years, timestamp 14 days. */
  readonly lifetimes?: Partial<Lifetimes>;
  /** Largest accepted metadata file in a publish, bytes. Default 16 MiB. */
  readonly maxMetadataBytes?: number;
}

/** The TrustService plus what the background refresher needs. */
export interface SignetTrustService extends TrustService {
  /** Re-sign the timestamp (and a held snapshot) if due within the margins; null when the GUN has no timestamp. */
  refreshTimestamp(gun: string, margins: RefreshMargins): Promise<RefreshResult | null>;
  readonly lifetimes: Lifetimes;
}

const EXPIRED_ONLY: RefreshMargins = { timestampMs: 0, snapshotMs: 0 };
const MAX_FRESH_GUNS = 100_000;
/** A timestamp that is due but could not be signed is tried again by reads after this long. */
const BLOCKED_RECHECK_MS = 60_000;

export function createTrustService(options: TrustServiceOptions): SignetTrustService {
  const keys = createServerKeys(options.signer);
  const lifetimes: Lifetimes = {
    snapshot: options.lifetimes?.snapshot ?? DEFAULT_EXPIRY_SECONDS.snapshot,
    timestamp: options.lifetimes?.timestamp ?? DEFAULT_EXPIRY_SECONDS.timestamp,
  };
  const deps: DomainDeps = {
    store: options.store,
    codec: options.codec ?? notaryCodec,
    keys,
    rules: options.rootKeyRules ?? notaryRootKeyRules,
    now: options.now ?? (() => new Date()),
    lifetimes,
    maxMetadataBytes: options.maxMetadataBytes ?? DEFAULT_MAX_METADATA_BYTES,
  };
  const { store, codec } = deps;

  async function rootKeyIds(gun: string, role: ServerRole): Promise<readonly string[]> {
    const root = await new RepoView(store, codec, gun).load('root', 'root');
    return root?.envelope.signed.roles.get(role)?.keyIds ?? [];
  }

  // A read re-signs only once something is expired. The check reads timestamp, snapshot and root; its
  // answer holds for the same timestamp bytes until the next expiry, so a repeat read of an unchanged
  // repository costs one query. Keyed by the bytes just read, so it is safe across processes.
  const fresh = new Map<string, { readonly data: Buffer; readonly until: number }>();
  async function currentTimestamp(gun: string): Promise<StoredFile | null> {
    const known = fresh.get(gun);
    if (known !== undefined && deps.now().getTime() < known.until) {
      const file = await store.getCurrent(gun, 'timestamp');
      if (file !== null && file.data.equals(known.data)) return file;
    }
    const result = await refreshTimestamp(deps, gun, EXPIRED_ONLY);
    if (result === null || result.resigned) {
      fresh.delete(gun);
    } else {
      if (fresh.size >= MAX_FRESH_GUNS) fresh.clear();
      // Blocked (a key not held, a token gone): what is stored is served meanwhile, and the signer is
      // tried again after a minute, or sooner when the stored timestamp becomes due before that.
      const now = deps.now().getTime();
      const retry = now + BLOCKED_RECHECK_MS;
      const until = result.blocked === undefined ? result.nextDueMs : result.nextDueMs > now ? Math.min(result.nextDueMs, retry) : retry;
      fresh.set(gun, { data: result.file.data, until });
    }
    return result?.file ?? null;
  }

  const toServerKey = (k: { keyType: string; publicValue: string }): ServerPublicKey => ({ keyType: k.keyType, publicValue: k.publicValue });

  return {
    lifetimes,

    applyUpdate(gun: string, parts: readonly UpdatePart[]): Promise<void> {
      return applyUpdate(deps, gun, parts);
    },

    async getCurrent(gun: string, role: string): Promise<StoredFile | null> {
      if (role === 'timestamp') return currentTimestamp(gun);
      if (role === 'snapshot') {
        // Notary: the current snapshot is the one the current timestamp names.
        const ts = await currentTimestamp(gun);
        if (ts === null) return null;
        const view = new RepoView(store, codec, gun);
        const sha256 = view.parseStored('timestamp', ts.data, 'timestamp').signed.meta.get('snapshot')?.hashes.get('sha256');
        const named = sha256 === undefined ? null : await store.getByChecksum(gun, 'snapshot', sha256.toString('hex'));
        return named ?? store.getCurrent(gun, 'snapshot');
      }
      return store.getCurrent(gun, role);
    },

    getByVersion(gun: string, role: string, version: number): Promise<StoredFile | null> {
      return store.getByVersion(gun, role, version);
    },

    getByChecksum(gun: string, role: string, sha256Hex: string): Promise<StoredFile | null> {
      return store.getByChecksum(gun, role, sha256Hex);
    },

    async getOrCreateKey(gun: string, role: ServerRole): Promise<ServerPublicKey> {
      return toServerKey(await keys.getOrCreateKey(gun, role, await rootKeyIds(gun, role)));
    },

    async rotateKey(gun: string, role: ServerRole): Promise<ServerPublicKey> {
      return toServerKey(await keys.rotateKey(gun, role));
    },

    async deleteGun(gun: string): Promise<void> {
      await store.deleteGun(gun);
      // the GUN created again gets new server keys, as notary's does
      await keys.forget(gun);
    },

    refreshTimestamp(gun: string, margins: RefreshMargins): Promise<RefreshResult | null> {
      return refreshTimestamp(deps, gun, margins);
    },
  };
}

// SPDX-License-Identifier: Apache-2.0
// In-process response cache for metadata GETs, holding ready-to-write bodies
// and header lists so a hit costs one map lookup and one write.
//   - immutable: by checksum and by version; LRU bounded by bytes and entries.
//     Content never changes, but a DELETE of the GUN must make it disappear.
//   - current: per (GUN, role), until an invalidation (local publish/delete,
//     a change seen in the store's changefeed) or its own deadline (a short
//     TTL, and never past the document's `expires`, after which the service
//     re-signs timestamp/snapshot).
// A fill is accepted only if no invalidation of that GUN happened since the
// lookup began (striped generation counters), so a slow read that raced a
// publish cannot put stale bytes back.

export interface CachedResponse {
  readonly body: Buffer;
  /** Flat [name, value, ...] list for res.writeHead. */
  readonly headers: readonly string[];
  /** Epoch ms after which the entry is not served (Infinity for immutable ones). */
  readonly expiresAt: number;
}

export interface ResponseCacheOptions {
  /** Byte budget of the immutable cache. */
  readonly maxBytes: number;
  readonly maxEntries: number;
  /** Most GUNs with cached current metadata. */
  readonly maxCurrentGuns: number;
}

export const DEFAULT_CACHE_OPTIONS: ResponseCacheOptions = { maxBytes: 64 * 1024 * 1024, maxEntries: 20_000, maxCurrentGuns: 10_000 };

const STRIPES = 1024;

function stripe(gun: string): number {
  let h = 2166136261;
  for (let i = 0; i < gun.length; i++) h = Math.imul(h ^ gun.charCodeAt(i), 16777619);
  return (h >>> 0) % STRIPES;
}

export class ResponseCache {
  private readonly generations = new Uint32Array(STRIPES);
  private readonly current = new Map<string, Map<string, CachedResponse>>();
  private readonly immutable = new Map<string, CachedResponse>();
  private bytes = 0;
  /** Off while changes from other processes cannot be observed (changefeed unreadable). */
  currentEnabled = true;

  constructor(private readonly options: ResponseCacheOptions = DEFAULT_CACHE_OPTIONS) {}

  /** Take before reading the store; pass to put*. */
  token(gun: string): number {
    return this.generations[stripe(gun)] ?? 0;
  }

  getCurrent(gun: string, role: string, now: number): CachedResponse | undefined {
    if (!this.currentEnabled) return undefined;
    const entry = this.current.get(gun)?.get(role);
    return entry !== undefined && entry.expiresAt > now ? entry : undefined;
  }

  putCurrent(gun: string, role: string, token: number, entry: CachedResponse): void {
    if (token !== this.token(gun) || !this.currentEnabled) return;
    let roles = this.current.get(gun);
    if (roles === undefined) {
      if (this.current.size >= this.options.maxCurrentGuns) this.current.delete(this.current.keys().next().value as string);
      roles = new Map();
      this.current.set(gun, roles);
    }
    roles.set(role, entry);
  }

  getImmutable(gun: string, key: string): CachedResponse | undefined {
    const k = gun + '\0' + key;
    const entry = this.immutable.get(k);
    if (entry !== undefined) {
      this.immutable.delete(k); // LRU: move to the young end
      this.immutable.set(k, entry);
    }
    return entry;
  }

  putImmutable(gun: string, key: string, token: number, entry: CachedResponse): void {
    if (token !== this.token(gun) || entry.body.length > this.options.maxBytes / 8) return;
    const k = gun + '\0' + key;
    this.dropImmutable(k);
    this.immutable.set(k, entry);
    this.bytes += entry.body.length;
    while (this.bytes > this.options.maxBytes || this.immutable.size > this.options.maxEntries) {
      this.dropImmutable(this.immutable.keys().next().value as string);
    }
  }

  /** A publish or delete of `gun` (here or in another process): forget all it holds. */
  invalidate(gun: string): void {
    const s = stripe(gun);
    this.generations[s] = (this.generations[s] ?? 0) + 1;
    this.current.delete(gun);
    const prefix = gun + '\0';
    for (const k of [...this.immutable.keys()]) if (k.startsWith(prefix)) this.dropImmutable(k);
  }

  /** Changes may have been missed (a deletion among them): forget everything. */
  invalidateAll(): void {
    for (let i = 0; i < STRIPES; i++) this.generations[i] = (this.generations[i] ?? 0) + 1;
    this.current.clear();
    this.immutable.clear();
    this.bytes = 0;
  }

  get immutableBytes(): number {
    return this.bytes;
  }

  private dropImmutable(k: string): void {
    const old = this.immutable.get(k);
    if (old === undefined) return;
    this.immutable.delete(k);
    this.bytes -= old.body.length;
  }
}

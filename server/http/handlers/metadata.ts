// SPDX-License-Identifier: Apache-2.0
// GET metadata: current, by checksum, by version (notary-wire.md §6.3, §6.7).
// Bytes go out exactly as stored, as text/plain (what Go's sniffing says for
// JSON), with Last-Modified in Go's RFC1123-with-UTC and the current (300 s)
// or consistent (30 days) Cache-Control. Responses are cached ready to write.

import type { StoredFile } from '../../storage/meta-store.js';
import { sendNotaryError, GO_ERROR_DETAIL } from '../errors.js';
import { goRfc1123 } from '../go-format.js';
import type { CachedResponse, ResponseCache } from '../cache.js';
import { TEXT_PLAIN, type HttpDeps, type RequestContext } from '../context.js';
import { CacheRevalidator } from '../revalidate.js';

export const CURRENT_CACHE_CONTROL = 'public, max-age=300, s-maxage=300, must-revalidate';
export const CONSISTENT_CACHE_CONTROL = 'public, max-age=2592000, s-maxage=2592000';
const INT64_MAX = 9223372036854775807n;

function build(file: StoredFile, cacheControl: string, expiresAt: number): CachedResponse {
  return {
    body: file.data,
    headers: ['Cache-Control', cacheControl, 'Last-Modified', goRfc1123(file.createdAt), 'Content-Type', TEXT_PLAIN, 'Content-Length', String(file.data.length)],
    expiresAt,
  };
}

function send(ctx: RequestContext, entry: CachedResponse): void {
  ctx.res.writeHead(200, entry.headers as string[]);
  ctx.res.end(entry.body);
}

/** `signed.expires` of timestamp/snapshot: the service re-signs them once expired, so a cached copy must not outlive it. */
function documentExpiry(file: StoredFile): number {
  try {
    const doc = JSON.parse(file.data.toString('utf8')) as { signed?: { expires?: unknown } };
    const ms = typeof doc.signed?.expires === 'string' ? Date.parse(doc.signed.expires) : NaN;
    return Number.isFinite(ms) ? ms : 0;
  } catch {
    return 0;
  }
}

// A store shared by several processes: every current response is revalidated against the
// changefeed before it is served (revalidate.ts), so it is as fresh as a read of the store.
const REVALIDATED_MAX_AGE_MS = 300_000;
const revalidators = new WeakMap<ResponseCache, CacheRevalidator>();

function revalidator(deps: HttpDeps): CacheRevalidator {
  let r = revalidators.get(deps.cache);
  if (r === undefined) revalidators.set(deps.cache, (r = new CacheRevalidator(deps.store, deps.cache)));
  return r;
}

export async function getCurrentHandler(ctx: RequestContext): Promise<void> {
  const { gun, role } = ctx.match;
  const { cache, metrics, service, currentTtlMs, sharedStore } = ctx.deps;
  if (sharedStore) await revalidator(ctx.deps).sync();
  const now = Date.now();
  const hit = cache.getCurrent(gun, role, now);
  metrics.cacheLookup('current', hit !== undefined);
  if (hit !== undefined) return send(ctx, hit);

  const token = cache.token(gun);
  const file = await service.getCurrent(gun, role);
  if (file === null) return sendNotaryError(ctx.res, 'METADATA_NOT_FOUND', GO_ERROR_DETAIL);
  let expiresAt = now + (sharedStore ? REVALIDATED_MAX_AGE_MS : currentTtlMs);
  if (role === 'timestamp' || role === 'snapshot') expiresAt = Math.min(expiresAt, documentExpiry(file));
  const entry = build(file, CURRENT_CACHE_CONTROL, expiresAt);
  cache.putCurrent(gun, role, token, entry);
  send(ctx, entry);
}

async function immutable(ctx: RequestContext, key: string, load: () => Promise<StoredFile | null>): Promise<void> {
  const { gun } = ctx.match;
  const { cache, metrics, sharedStore } = ctx.deps;
  // Content never changes, but a DELETE in another process must make it disappear: checked as for current metadata.
  if (sharedStore) await revalidator(ctx.deps).sync();
  const hit = cache.getImmutable(gun, key);
  metrics.cacheLookup('immutable', hit !== undefined);
  if (hit !== undefined) return send(ctx, hit);
  const token = cache.token(gun);
  const file = await load();
  if (file === null) return sendNotaryError(ctx.res, 'METADATA_NOT_FOUND', GO_ERROR_DETAIL);
  const entry = build(file, CONSISTENT_CACHE_CONTROL, Infinity);
  cache.putImmutable(gun, key, token, entry);
  send(ctx, entry);
}

export async function getByChecksumHandler(ctx: RequestContext): Promise<void> {
  const { gun, role, checksum } = ctx.match;
  // The route admits sha512 and upper-case hex; notary looks up lower-case sha256 only.
  if (!/^[0-9a-f]{64}$/.test(checksum)) return sendNotaryError(ctx.res, 'METADATA_NOT_FOUND', GO_ERROR_DETAIL);
  await immutable(ctx, `c${checksum}\0${role}`, () => ctx.deps.service.getByChecksum(gun, role, checksum));
}

export async function getByVersionHandler(ctx: RequestContext): Promise<void> {
  const { gun, role, version } = ctx.match;
  const big = BigInt(version); // the route guarantees digits; leading zeros are fine
  if (big > INT64_MAX) {
    // notary's strconv.Atoi fails and the NumError becomes the detail.
    return sendNotaryError(ctx.res, 'METADATA_NOT_FOUND', { Func: 'Atoi', Num: version, Err: {} });
  }
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return sendNotaryError(ctx.res, 'METADATA_NOT_FOUND', GO_ERROR_DETAIL);
  const v = Number(big);
  await immutable(ctx, `v${v}\0${role}`, () => ctx.deps.service.getByVersion(gun, role, v));
}

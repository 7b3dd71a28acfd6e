// SPDX-License-Identifier: Apache-2.0
// createApp: the HTTP application without a socket. It wires the route
// table, the authorizer, the response cache and its invalidation by the
// store's change notifications (publishes and deletes of this and, with
// PostgreSQL, every other process), metrics and logging. main.ts listens;
// tests hand `handler` to supertest or their own server.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TrustService } from './domain/service.js';
import type { MetaStore } from './storage/meta-store.js';
import type { Authorizer } from './auth/access.js';
import type { UploadLimits } from './config.js';
import type { Logger } from './log.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { DEFAULT_CACHE_OPTIONS, ResponseCache, type ResponseCacheOptions } from './http/cache.js';
import { createRequestListener } from './http/dispatch.js';
import { ByteBudget } from './http/upload-budget.js';

export interface AppOptions {
  readonly service: TrustService;
  readonly store: Pick<MetaStore, 'getChanges' | 'latestChangeId' | 'ping' | 'subscribe'>;
  readonly logger: Logger;
  readonly authorizer?: Authorizer | null;
  readonly gunPrefixes?: readonly string[];
  readonly limits?: UploadLimits;
  readonly metrics?: ServerMetrics;
  readonly cache?: Partial<ResponseCacheOptions>;
  /** Longest a current response is served from cache; change notifications usually end it sooner. */
  readonly currentTtlMs?: number;
  /**
   * The store is shared with other signet-server processes (PostgreSQL): their
   * notifications arrive after they acknowledge, so every current response is
   * first revalidated against the changefeed (http/revalidate.ts).
   */
  readonly sharedStore?: boolean;
}

export interface App {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly metrics: ServerMetrics;
  readonly cache: ResponseCache;
  /** Resolves once the app listens for store changes (or has given up and bypasses the current cache). */
  readonly ready: Promise<void>;
  /** Stop listening for changes. Does not close the store. */
  close(): Promise<void>;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { maxBodyBytes: 64 * 1024 * 1024, maxPartBytes: 16 * 1024 * 1024, maxParts: 1000, maxInFlightBytes: 256 * 1024 * 1024 };
const DEFAULT_CURRENT_TTL_MS = 30_000;

export function createApp(options: AppOptions): App {
  const { store, logger } = options;
  const cache = new ResponseCache({ ...DEFAULT_CACHE_OPTIONS, ...options.cache });
  const metrics = options.metrics ?? createMetrics();
  let unsubscribe: (() => void) | null = null;

  // Without notifications another process's publish would go unseen until the TTL ends: then the
  // current cache is off (local publishes still invalidate; on a shared store every cached answer,
  // immutable ones included, is also checked against the changefeed first, see http/revalidate.ts).
  const subscribe = store.subscribe?.bind(store);
  let ready: Promise<void>;
  if (subscribe === undefined) {
    ready = Promise.resolve();
  } else {
    cache.currentEnabled = false;
    ready = subscribe(
      (gun) => cache.invalidate(gun),
      (listening) => {
        // While notifications are off, another process's publish would go unseen: cache no current metadata.
        cache.currentEnabled = listening;
        cache.invalidateAll();
        if (listening) logger.info('store change notifications resumed; metadata cache cleared');
        else logger.warn('store change notifications were interrupted; current metadata is not cached until they resume');
      },
    ).then(
      (stop) => {
        unsubscribe = stop;
        cache.currentEnabled = true;
      },
      (err: unknown) => logger.warn({ err }, 'cannot subscribe to store changes; current metadata is not cached'),
    );
  }

  const handler = createRequestListener({
    service: options.service,
    store,
    authorizer: options.authorizer ?? null,
    gunPrefixes: options.gunPrefixes ?? [],
    limits: options.limits ?? DEFAULT_UPLOAD_LIMITS,
    uploadBudget: new ByteBudget((options.limits ?? DEFAULT_UPLOAD_LIMITS).maxInFlightBytes),
    cache,
    currentTtlMs: options.currentTtlMs ?? DEFAULT_CURRENT_TTL_MS,
    sharedStore: options.sharedStore ?? false,
    metrics,
    logger,
  });

  return {
    handler,
    metrics,
    cache,
    ready,
    async close(): Promise<void> {
      await ready;
      unsubscribe?.();
      unsubscribe = null;
    },
  };
}

// SPDX-License-Identifier: Apache-2.0
// What every handler receives: the matched route, the request and response,
// and the app's dependencies (no service locator: all of it is passed in).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TrustService } from '../domain/service.js';
import type { MetaStore } from '../storage/meta-store.js';
import type { Authorizer } from '../auth/access.js';
import type { UploadLimits } from '../config.js';
import type { Logger } from '../log.js';
import type { ServerMetrics } from '../metrics.js';
import type { ResponseCache } from './cache.js';
import type { ByteBudget } from './upload-budget.js';
import type { RouteMatch } from './routes.js';

export interface HttpDeps {
  readonly service: TrustService;
  /** The changefeed and the health check read the store directly. */
  readonly store: Pick<MetaStore, 'getChanges' | 'latestChangeId' | 'ping'>;
  readonly authorizer: Authorizer | null;
  readonly gunPrefixes: readonly string[];
  readonly limits: UploadLimits;
  /** Publish bodies held at once (limits.maxInFlightBytes), shared by every request of this app. */
  readonly uploadBudget: ByteBudget;
  readonly cache: ResponseCache;
  /** Longest a current (non-consistent) response is served from the cache. */
  readonly currentTtlMs: number;
  /** Revalidate current responses against the changefeed before serving them (several processes share the store). */
  readonly sharedStore: boolean;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly match: RouteMatch;
  /** Raw query string (without `?`). */
  readonly query: string;
  readonly deps: HttpDeps;
  readonly requestId: string;
}

export const TEXT_PLAIN = 'text/plain; charset=utf-8';

/** 200 with an empty body and no Content-Type, as Go writes a handler that wrote nothing. */
export function sendEmptyOk(res: ServerResponse, extra: readonly string[] = []): void {
  res.writeHead(200, [...extra, 'Content-Length', '0']);
  res.end();
}

/** 200 with bytes Go would sniff as text/plain (all our JSON bodies). */
export function sendText(res: ServerResponse, body: Buffer | string, status = 200): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, ['Content-Length', String(buf.length), 'Content-Type', TEXT_PLAIN]);
  res.end(buf);
}

// SPDX-License-Identifier: Apache-2.0
// Prometheus metrics (prom-client) in a registry of their own, so several
// servers in one process (tests) do not collide. Labels are bounded: route
// family (a fixed set), method (known verbs or OTHER) and status; a GUN is
// never a label, since GUNs are unbounded client input.

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const METHODS = new Set(['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'PATCH', 'OPTIONS']);

export interface ServerMetrics {
  readonly registry: Registry;
  observeRequest(operation: string, method: string, status: number, seconds: number): void;
  cacheLookup(cache: 'current' | 'immutable', hit: boolean): void;
}

export function createMetrics(options: { processMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'signet_' });
  const requests = new Counter({
    name: 'signet_http_requests_total',
    help: 'HTTP requests by route family, method and status',
    labelNames: ['operation', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'signet_http_request_duration_seconds',
    help: 'HTTP request latency by route family and method',
    labelNames: ['operation', 'method'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const cache = new Counter({
    name: 'signet_metadata_cache_lookups_total',
    help: 'Metadata response cache lookups',
    labelNames: ['cache', 'result'] as const,
    registers: [registry],
  });
  return {
    registry,
    observeRequest(operation, method, status, seconds) {
      const m = METHODS.has(method) ? method : 'OTHER';
      requests.inc({ operation, method: m, status: String(status) });
      duration.observe({ operation, method: m }, seconds);
    },
    cacheLookup(kind, hit) {
      cache.inc({ cache: kind, result: hit ? 'hit' : 'miss' });
    },
  };
}

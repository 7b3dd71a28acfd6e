// SPDX-License-Identifier: Apache-2.0
// Policy metrics in the server's registry: decisions by source and verdict,
// check latency, and chain cache hits. Registered once per registry.

import { Counter, Histogram, type Registry } from 'prom-client';

export interface PolicyMetrics {
  decision(source: PolicySource, verdict: 'allow' | 'deny' | 'warn'): void;
  cache(hit: boolean): void;
  observe(seconds: number): void;
}

export type PolicySource = 'api' | 'admission' | 'mutation';

const byRegistry = new WeakMap<Registry, PolicyMetrics>();

export function policyMetrics(registry: Registry): PolicyMetrics {
  const known = byRegistry.get(registry);
  if (known !== undefined) return known;
  const decisions = new Counter({ name: 'signet_policy_decisions_total', help: 'Image policy decisions by source and verdict (warn = allowed by a warn-mode rule that would deny)', labelNames: ['source', 'verdict'], registers: [registry] });
  const lookups = new Counter({ name: 'signet_policy_chain_cache_total', help: 'Verified-chain cache lookups of policy checks', labelNames: ['result'], registers: [registry] });
  const latency = new Histogram({ name: 'signet_policy_check_seconds', help: 'Time to decide one image', buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2], registers: [registry] });
  const metrics: PolicyMetrics = {
    decision: (source, verdict) => decisions.inc({ source, verdict }),
    cache: (hit) => lookups.inc({ result: hit ? 'hit' : 'miss' }),
    observe: (seconds) => latency.observe(seconds),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}

// SPDX-License-Identifier: Apache-2.0
// Background re-signing, so a quiet repository's timestamp never expires on
// clients that read through a cache or a mirror (a read re-signs an expired
// timestamp too, but only when it reaches this server).
//
// Every `intervalMs` (default 10 minutes) one tick:
//   1. reads at most `changesPerTick` new changefeed records (default 10 000):
//      an `update` at time T means a timestamp signed at T, due at
//      T + timestamp lifetime - margin; a `deletion` forgets the GUN;
//   2. re-signs, one after another, at most `maxResignsPerTick` repositories
//      (default 200) whose due time has passed, earliest first; each re-sign
//      reports the repository's exact next due time (timestamp, or a held
//      snapshot, entering its margin).
// The margin is `marginFraction` (default 1/4) of each lifetime: a 14-day
// timestamp is re-signed 3.5 days before it expires, a 3-year server-held
// snapshot 9 months before. With the defaults one server keeps about
// 200 × 144 ticks/day × 3.5 days ≈ 100 000 quiet repositories fresh.
// Cost per tick is bounded by those two limits; nothing is kept per GUN but
// one number. A failing repository (or one whose timestamp key the server
// does not hold at the moment) is retried after 6 intervals.

import { ConfigError } from '../../shared/errors.js';
import type { MetaStore } from '../storage/meta-store.js';
import type { SignetTrustService } from './trust-service.js';

export interface TimestampRefresherOptions {
  readonly service: Pick<SignetTrustService, 'refreshTimestamp' | 'lifetimes'>;
  readonly store: Pick<MetaStore, 'getChanges'>;
  readonly intervalMs?: number;
  readonly marginFraction?: number;
  readonly maxResignsPerTick?: number;
  readonly changesPerTick?: number;
  readonly now?: () => Date;
  /** A repository could not be refreshed (logged by the caller; never includes key material). */
  readonly onError?: (gun: string, error: unknown) => void;
}

export interface TickReport {
  readonly changesRead: number;
  readonly inspected: number;
  readonly resigned: number;
  readonly failed: number;
  /** Repositories known to the refresher after the tick. */
  readonly tracked: number;
}

export interface TimestampRefresher {
  /** Start ticking (first tick right away). The timer does not keep the process alive. */
  start(): void;
  /** Stop ticking and wait for a running tick to finish. */
  stop(): Promise<void>;
  /** Run one tick now (tests, or a manual trigger). Ticks never overlap. */
  tick(): Promise<TickReport>;
}

export const DEFAULT_REFRESH_INTERVAL_MS = 10 * 60 * 1000;
export const DEFAULT_MARGIN_FRACTION = 0.25;
const PAGE = 1000;
const RETRY_INTERVALS = 6;

export function createTimestampRefresher(options: TimestampRefresherOptions): TimestampRefresher {
  const intervalMs = options.intervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
  const fraction = options.marginFraction ?? DEFAULT_MARGIN_FRACTION;
  const maxResigns = options.maxResignsPerTick ?? 200;
  const maxChanges = options.changesPerTick ?? 10_000;
  const now = options.now ?? (() => new Date());
  const { lifetimes } = options.service;
  const margins = { timestampMs: lifetimes.timestamp * 1000 * fraction, snapshotMs: lifetimes.snapshot * 1000 * fraction };
  if (!(Number.isFinite(intervalMs) && intervalMs >= 1000)) throw new ConfigError(`refresh interval must be at least 1000 ms, got ${intervalMs}`);
  if (!(fraction > 0 && fraction < 1)) throw new ConfigError(`refresh margin must be a fraction between 0 and 1 of the lifetime, got ${fraction}`);
  if (margins.timestampMs < 2 * intervalMs) {
    throw new ConfigError(`refresh interval ${intervalMs} ms is too long for a timestamp margin of ${margins.timestampMs} ms; use an interval of at most half the margin`);
  }
  if (!(Number.isInteger(maxResigns) && maxResigns >= 1 && Number.isInteger(maxChanges) && maxChanges >= 1)) {
    throw new ConfigError('refresh limits per tick must be positive integers');
  }

  const due = new Map<string, number>();
  let cursor = 0;
  let running: Promise<TickReport> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = true;

  async function readChanges(): Promise<number> {
    let read = 0;
    while (read < maxChanges) {
      const page = await options.store.getChanges({ changeId: cursor, records: Math.min(PAGE, maxChanges - read) });
      for (const c of page) {
        cursor = Math.max(cursor, Number(c.id));
        if (c.category === 'deletion') due.delete(c.gun);
        else due.set(c.gun, c.createdAt.getTime() + lifetimes.timestamp * 1000 - margins.timestampMs);
      }
      read += page.length;
      if (page.length === 0 || page.length < PAGE) break;
    }
    return read;
  }

  async function runTick(): Promise<TickReport> {
    const changesRead = await readChanges();
    const t = now().getTime();
    const candidates = [...due].filter(([, at]) => at <= t).sort((a, b) => a[1] - b[1]).slice(0, maxResigns);
    let resigned = 0;
    let failed = 0;
    for (const [gun] of candidates) {
      try {
        const result = await options.service.refreshTimestamp(gun, margins);
        if (result === null) due.delete(gun);
        else {
          if (result.resigned) resigned++;
          if (result.blocked === undefined) due.set(gun, result.nextDueMs);
          else {
            // Not forgotten: once the key is back, a later tick signs it.
            failed++;
            due.set(gun, t + RETRY_INTERVALS * intervalMs);
            options.onError?.(gun, result.blocked);
          }
        }
      } catch (error) {
        failed++;
        due.set(gun, t + RETRY_INTERVALS * intervalMs);
        options.onError?.(gun, error);
      }
    }
    return { changesRead, inspected: candidates.length, resigned, failed, tracked: due.size };
  }

  function tick(): Promise<TickReport> {
    if (running !== null) return running;
    running = runTick().finally(() => {
      running = null;
    });
    return running;
  }

  function schedule(delay: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      tick()
        .catch((error: unknown) => options.onError?.('*', error))
        .finally(() => schedule(intervalMs));
    }, delay);
    timer.unref();
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      if (running !== null) await running.catch(() => undefined);
    },
    tick,
  };
}

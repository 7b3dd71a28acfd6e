// SPDX-License-Identifier: Apache-2.0
// Revalidation of cached current metadata against the store's changefeed,
// for stores shared by several processes (PostgreSQL: AppOptions.sharedStore).
// Every publish, lazy re-sign and delete commits a changefeed record, and
// records are numbered in commit order (the feed lock), so "the newest record
// id is still N" proves no GUN changed. A request waits for one check issued
// after it arrived, so it sees every commit acknowledged before it was sent,
// in this process or any other (read-your-writes, as when reading the store).
// Concurrent requests share a check: one cheap query per batch instead of
// several queries and a root parse per request. Changed GUNs found by the
// check are dropped from the cache.

import type { MetaStore } from '../storage/meta-store.js';
import type { ResponseCache } from './cache.js';

/** Past this many records since the last check, drop the whole cache rather than page on. */
const MAX_CHANGES_WALKED = 2000;
const PAGE = 500;

export class CacheRevalidator {
  readonly #store: Pick<MetaStore, 'getChanges' | 'latestChangeId'>;
  readonly #cache: ResponseCache;
  /** Newest changefeed id the cache reflects; null before the first check. */
  #seen: number | null = null;
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;

  constructor(store: Pick<MetaStore, 'getChanges' | 'latestChangeId'>, cache: ResponseCache) {
    this.#store = store;
    this.#cache = cache;
  }

  /**
   * Resolves once every change committed before this call has been applied to the cache.
   * @throws the store's error when the changefeed cannot be read (the caller answers 500, as a failed read would).
   */
  sync(): Promise<void> {
    if (this.#running === null) return this.#start();
    // The check under way may have been sent before this request arrived: wait for the one after it.
    this.#next ??= this.#running
      .catch(() => undefined)
      .then(() => {
        this.#next = null;
        return this.#start();
      });
    return this.#next;
  }

  #start(): Promise<void> {
    const run = this.#check().finally(() => {
      if (this.#running === run) this.#running = null;
    });
    this.#running = run;
    return run;
  }

  async #check(): Promise<void> {
    const id = await this.#store.latestChangeId();
    const seen = this.#seen;
    if (seen === id) return;
    if (seen === null || id < seen) {
      // First check, or the feed went backwards (restored database): trust nothing cached.
      this.#cache.invalidateAll();
      this.#seen = id;
      return;
    }
    let from = seen;
    let walked = 0;
    while (from < id) {
      if (walked >= MAX_CHANGES_WALKED) {
        this.#cache.invalidateAll();
        break;
      }
      const page = await this.#store.getChanges({ changeId: from, records: PAGE });
      if (page.length === 0) break;
      for (const change of page) this.#cache.invalidate(change.gun);
      walked += page.length;
      from = Number(page.at(-1)!.id);
    }
    this.#seen = Math.max(id, from);
  }
}

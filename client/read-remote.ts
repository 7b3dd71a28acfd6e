// SPDX-License-Identifier: Apache-2.0
// The remote as read-only commands (list, lookup, verify, delegation list)
// use it: notary's offline fallback and download progress on top of
// NotaryRemote.
//   - If timestamp.json cannot be fetched because the server is unreachable,
//     times out, answers 404 or an unexpected status (notary: anything but
//     200/400), the cached timestamp is used instead, with a warning. It is
//     verified like a download (signature, expiry), so an expired cached
//     timestamp still fails; snapshot and targets then come from the cache.
//     Refused answers (400), auth failures and oversized bodies do not fall back.
//   - Each role downloaded by hash ticks a progress bar sized by the snapshot.
// Publishing never uses this class: it must see the server's current state.

import { RemoteError } from '../shared/errors.js';
import { notaryCodec } from '../shared/codec/notary.js';
import type { MetadataCache } from './cache.js';
import type { Progress, ProgressTask } from './progress.js';
import { NotaryRemote, type RemoteOptions } from './remote.js';

const FALLBACK_CODES = new Set(['NETWORK', 'TIMEOUT', 'HTTP_STATUS', 'METADATA_NOT_FOUND']);

export interface ReadRemoteOptions extends RemoteOptions {
  readonly cache: MetadataCache;
  readonly warn: (message: string) => void;
  readonly progress: Progress;
}

export class ReadRemote extends NotaryRemote {
  readonly #cache: MetadataCache;
  readonly #warn: (message: string) => void;
  readonly #progress: Progress;
  #task: ProgressTask | undefined;
  /** Set when the cached timestamp stood in for the server's. */
  usedCachedTimestamp = false;

  constructor(opts: ReadRemoteOptions) {
    super(opts);
    this.#cache = opts.cache;
    this.#warn = opts.warn;
    this.#progress = opts.progress;
  }

  override async getRole(role: string, maxLength?: number): Promise<Buffer> {
    try {
      return await super.getRole(role, maxLength);
    } catch (e) {
      if (role !== 'timestamp' || !(e instanceof RemoteError) || !FALLBACK_CODES.has(e.code)) throw e;
      const cached = this.#cache.read('timestamp');
      if (cached === null) throw e;
      this.usedCachedTimestamp = true;
      this.#warn(`could not get the current timestamp of ${this.gun} (${e.message}); using the cached one, so the result may be out of date`);
      return cached;
    }
  }

  override async getRoleByHash(role: string, sha256Hex: string, maxLength: number): Promise<Buffer> {
    const bytes = await super.getRoleByHash(role, sha256Hex, maxLength);
    if (role === 'snapshot') {
      try {
        // Only to size the bar; the bytes are verified by the caller.
        const roles = notaryCodec.parse(bytes, 'snapshot').signed.meta.size;
        this.#task?.done();
        this.#task = this.#progress.begin(`downloading ${this.gun}`, roles, { minTotal: 20 });
      } catch {
        // not parseable: the verifier will say why
      }
    } else this.#task?.tick();
    return bytes;
  }

  /** Clear any progress bar. */
  finish(): void {
    this.#task?.done();
    this.#task = undefined;
  }
}

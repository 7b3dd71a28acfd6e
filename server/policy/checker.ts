// SPDX-License-Identifier: Apache-2.0
// The policy check use case: for each image, the most specific rule, the
// repository's verified chain (cached), and the verdict. Images are checked in
// parallel; each has an internal deadline, and a timeout or an internal
// error denies (fail closed), whatever the rule's mode.
//
// Cache: one verified chain per GUN. With the store's change notifications
// (`changes`, as the HTTP cache uses) a chain is dropped when its GUN changes
// (publish, delete, re-signed timestamp), so a warm check reads nothing. Without
// them (or until they are established), and on a store other processes write
// too (`sharedStore`), a hit costs one timestamp read: the
// chain is keyed by the exact bytes of the current timestamp, which every
// publish changes. A chain is also dropped once anything in it expires. The last verified root is kept as the anchor of the
// next walk, so a root rotation is followed, never refused by a stale copy.

import { RepositoryError } from '../../shared/errors.js';
import { decide, decideWithoutMetadata, needsMetadata, planImage, type ExplainedResult } from '../../shared/policy/evaluate.js';
import type { Policy, VerifiedRepositoryView } from '../../shared/policy/types.js';
import { viewFromTrustedSet } from '../../shared/policy/view.js';
import type { TrustService } from '../domain/service.js';
import type { MetaStore } from '../storage/meta-store.js';
import { buildChain, NoTrustDataError, type Anchor, type FileBytesCache } from './chain.js';
import type { PolicyMetrics, PolicySource } from './metrics.js';

export const DEFAULT_CHECK_TIMEOUT_MS = 3000;
const MAX_CACHED_GUNS = 10_000;

export interface PolicyCheckerOptions {
  readonly service: TrustService;
  readonly policy: Policy;
  /** Deadline of one image's check; keep it below the webhook's timeoutSeconds. */
  readonly timeoutMs?: number;
  readonly now?: () => Date;
  readonly metrics?: PolicyMetrics;
  /** Change notifications of the store behind `service`; call `start()` to use them. */
  readonly changes?: Pick<MetaStore, 'subscribe'>;
  /**
   * Several server processes share the store (PostgreSQL): another process's notification arrives
   * only after it acknowledged its publish, so a hit still compares the current timestamp.
   */
  readonly sharedStore?: boolean;
}

interface CachedChain {
  readonly timestampBytes: Buffer;
  readonly validUntil: number;
  readonly view: VerifiedRepositoryView;
}

export interface CheckOptions {
  readonly explain?: boolean;
  readonly source?: PolicySource;
}

export class PolicyChecker {
  readonly policy: Policy;
  readonly timeoutMs: number;
  readonly #service: TrustService;
  readonly #now: () => Date;
  readonly #metrics: PolicyMetrics | undefined;
  readonly #chains = new Map<string, CachedChain>();
  readonly #anchors = new Map<string, Anchor>();
  readonly #files: FileBytesCache = new Map();
  readonly #building = new Map<string, Promise<VerifiedRepositoryView>>();
  readonly #changes: Pick<MetaStore, 'subscribe'> | undefined;
  /** Bumped on every change notification, so a build that raced a publish is not cached. */
  readonly #generation = new Map<string, number>();
  #epoch = 0;
  #listening = false;
  readonly #sharedStore: boolean;
  #unsubscribe: (() => void) | undefined;

  constructor(options: PolicyCheckerOptions) {
    this.policy = options.policy;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
    this.#service = options.service;
    this.#now = options.now ?? (() => new Date());
    this.#metrics = options.metrics;
    this.#changes = options.changes;
    this.#sharedStore = options.sharedStore ?? false;
  }

  /** Listen for store changes (no-op without `changes`); until then every hit re-reads the timestamp. */
  async start(): Promise<void> {
    const subscribe = this.#changes?.subscribe?.bind(this.#changes);
    if (subscribe === undefined || this.#listening) return;
    this.#unsubscribe = await subscribe(
      (gun) => this.#forget(gun),
      (listening) => {
        // Changes may have been missed: trust nothing cached. While notifications are off, every hit
        // re-reads the timestamp; once they flow again, hits read nothing again.
        this.#epoch++;
        this.#chains.clear();
        this.#building.clear();
        this.#anchors.clear();
        this.#files.clear();
        this.#listening = listening;
      },
    );
    this.#listening = true;
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#listening = false;
  }

  /** One result per image, in order. Never throws for a bad image: it is denied with the reason. */
  async check(images: readonly string[], options: CheckOptions = {}): Promise<ExplainedResult[]> {
    const results = await Promise.all(images.map((image) => this.#checkOne(image, options)));
    for (const r of results) this.#metrics?.decision(options.source ?? 'api', !r.allowed ? 'deny' : r.reasons.length > 0 ? 'warn' : 'allow');
    return results;
  }

  /** Forget a repository's cached chain (its anchor root stays). */
  invalidate(gun: string): void {
    this.#chains.delete(gun);
  }

  /**
   * A change of `gun` was announced. Its chain goes, and so does a build in progress (a check sent
   * after the change must not join a build that read the state before it). The anchor root goes
   * too: after a DELETE and a new `init` every process must walk from the first stored root, as a
   * restarted one does.
   */
  #forget(gun: string): void {
    this.#generation.set(gun, (this.#generation.get(gun) ?? 0) + 1);
    this.#chains.delete(gun);
    this.#building.delete(gun);
    this.#anchors.delete(gun);
  }

  async #checkOne(image: string, options: CheckOptions): Promise<ExplainedResult> {
    const started = performance.now();
    const now = this.#now();
    const evalOptions = { now, explain: options.explain === true };
    const plan = planImage(this.policy, image);
    if (!needsMetadata(plan) || plan.ref === undefined) return decideWithoutMetadata(this.policy, plan, null, evalOptions);
    const gun = plan.ref.gun;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new TimeoutSignal());
      }, this.timeoutMs);
    });
    try {
      const view = await Promise.race([this.#view(gun, now), deadline]);
      return decide(this.policy, plan, view, evalOptions);
    } catch (err) {
      if (err instanceof TimeoutSignal) {
        return decideWithoutMetadata(this.policy, plan, { reason: `checking ${gun} took longer than ${this.timeoutMs} ms; denied (an unfinished check never allows)`, internal: true }, evalOptions);
      }
      if (err instanceof NoTrustDataError) return decideWithoutMetadata(this.policy, plan, { reason: err.message, internal: false }, evalOptions);
      if (err instanceof RepositoryError) {
        return decideWithoutMetadata(this.policy, plan, { reason: `the trust data of ${gun} does not verify: ${err.message}`, internal: false }, evalOptions);
      }
      const what = err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
      return decideWithoutMetadata(this.policy, plan, { reason: `internal error while checking ${gun} (${what}); denied`, internal: true }, evalOptions);
    } finally {
      clearTimeout(timer);
      this.#metrics?.observe((performance.now() - started) / 1000);
    }
  }

  async #view(gun: string, now: Date): Promise<VerifiedRepositoryView> {
    const cached = this.#chains.get(gun);
    if (cached !== undefined && now.getTime() < cached.validUntil) {
      if (this.#listening && !this.#sharedStore) {
        this.#metrics?.cache(true);
        return cached.view;
      }
      const current = await this.#service.getCurrent(gun, 'timestamp');
      if (current !== null && current.data.equals(cached.timestampBytes)) {
        this.#metrics?.cache(true);
        return cached.view;
      }
    }
    this.#metrics?.cache(false);
    // Concurrent checks of one repository share one verification.
    let building = this.#building.get(gun);
    if (building === undefined) {
      const started: Promise<VerifiedRepositoryView> = this.#build(gun, now, AbortSignal.timeout(this.timeoutMs)).finally(() => {
        if (this.#building.get(gun) === started) this.#building.delete(gun); // not a newer build started after a change
      });
      this.#building.set(gun, (building = started));
    }
    return building;
  }

  async #build(gun: string, now: Date, signal: AbortSignal): Promise<VerifiedRepositoryView> {
    this.#chains.delete(gun);
    const generation = this.#generation.get(gun) ?? 0;
    const epoch = this.#epoch;
    const chain = await buildChain(this.#service, gun, now, this.#anchors.get(gun), signal, this.#files);
    const view = viewFromTrustedSet(chain.set, gun, { anchorRootKeys: chain.anchorRootKeys, timestampSignedAt: chain.timestampStoredAt });
    // Changed meanwhile: answer, but keep neither the chain nor its root as the next anchor.
    if (generation !== (this.#generation.get(gun) ?? 0) || epoch !== this.#epoch) return view;
    if (this.#chains.size >= MAX_CACHED_GUNS) this.#chains.clear();
    if (this.#anchors.size >= MAX_CACHED_GUNS) this.#anchors.clear();
    this.#anchors.set(gun, { rootBytes: chain.rootBytes, anchorRootKeys: chain.anchorRootKeys });
    this.#chains.set(gun, { timestampBytes: chain.timestampBytes, validUntil: chain.validUntil, view });
    return view;
  }
}

class TimeoutSignal extends Error {}

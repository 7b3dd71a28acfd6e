// SPDX-License-Identifier: Apache-2.0
// One GUN as the CLI sees it: configuration, trust dir, server, keys, and the
// operations of the first slice (init, add, publish, list, lookup, status,
// reset). Every read goes through `refresh` (TrustedMetadataSet); the cache is
// written only after a command's verification (or publish) succeeded.

import fs from 'node:fs';
import { DeserializationError, TrustError, UsageError, type TrustErrorOptions } from '../shared/errors.js';
import { assertGun, isTargetsRoleName } from '../shared/tuf/names.js';
import type { RoleName } from '../shared/tuf/model.js';
import type { TargetMatch } from '../shared/verify/index.js';
import { CryptoService, FileKeyStore, type PassphraseRetriever } from '../keys/index.js';
import { MetadataCache } from './cache.js';
import { FileChangelist, type StoredChange } from './changelist.js';
import type { ClientConfig } from './config.js';
import type { HttpSend } from './http-transport.js';
import { initRepository, type InitResult } from './init.js';
import { checkCustomData, checkTargetName, encodeFileMeta, targetFileFromBytes } from './metadata.js';
import { publish, type PublishResult } from './publish.js';
import { NotaryRemote, type RemoteAccess } from './remote.js';
import type { Credentials } from './token-auth.js';
import { refresh } from './update.js';

/** A target the trusted metadata does not hold. */
export class TargetNotFoundError extends TrustError {
  constructor(message: string, options?: TrustErrorOptions) {
    super('METADATA_NOT_FOUND', message, options);
  }
}

export interface SessionOptions {
  readonly config: ClientConfig;
  readonly gun: string;
  readonly retriever: PassphraseRetriever;
  readonly credentials: Credentials | null;
  readonly now?: () => Date;
  readonly timeoutMs?: number;
  readonly send?: HttpSend;
  readonly warn?: (message: string) => void;
}

export class RepositorySession {
  readonly gun: string;
  readonly cache: MetadataCache;
  readonly changelist: FileChangelist;
  readonly #opts: SessionOptions;

  /** @throws {UsageError} for a GUN signet refuses (see shared/tuf/names.ts assertGun). */
  constructor(opts: SessionOptions) {
    try {
      assertGun(opts.gun);
    } catch (e) {
      if (e instanceof DeserializationError) throw new UsageError(e.message, { cause: e });
      throw e;
    }
    this.#opts = opts;
    this.gun = opts.gun;
    this.cache = new MetadataCache(opts.config.trustDir, opts.gun);
    this.changelist = FileChangelist.forGun(opts.config.trustDir, opts.gun);
  }

  #now(): Date {
    return this.#opts.now?.() ?? new Date();
  }

  #remote(access: RemoteAccess): NotaryRemote {
    const { config, credentials, timeoutMs, send } = this.#opts;
    return new NotaryRemote({
      serverUrl: config.serverUrl,
      gun: this.gun,
      tls: config.tls,
      access,
      credentials,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(send === undefined ? {} : { send }),
    });
  }

  #keys(): CryptoService {
    return new CryptoService([new FileKeyStore(this.#opts.config.trustDir, { retriever: this.#opts.retriever })]);
  }

  #warnAll(warnings: readonly string[]): void {
    for (const w of warnings) this.#opts.warn?.(w);
  }

  async init(): Promise<InitResult> {
    return initRepository({
      gun: this.gun,
      trustDir: this.#opts.config.trustDir,
      remote: this.#remote('push,pull'),
      cache: this.cache,
      retriever: this.#opts.retriever,
      now: this.#now(),
    });
  }

  /**
   * Stage a target read from `file` for `roles` (default `targets`).
   * @throws {UsageError} for unreadable files, bad names, roles or custom data.
   */
  add(name: string, file: string, options: { roles?: readonly string[]; customFile?: string } = {}): StoredChange[] {
    checkTargetName(name);
    const roles = options.roles !== undefined && options.roles.length > 0 ? options.roles : ['targets'];
    for (const r of roles) {
      if (!isTargetsRoleName(r)) throw new UsageError(`role ${JSON.stringify(r)} cannot hold targets: use targets or a delegation such as targets/releases`);
    }
    const read = (f: string, what: string): Buffer => {
      try {
        return fs.readFileSync(f);
      } catch (cause) {
        throw new UsageError(`cannot read ${what} ${f} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
      }
    };
    const custom = options.customFile === undefined ? undefined : checkCustomData(read(options.customFile, 'custom data file').toString('utf8'), options.customFile);
    const data = encodeFileMeta(targetFileFromBytes(read(file, 'target file'), custom));
    return roles.map((role) => {
      const stored = this.changelist.add({ action: 'create', role, type: 'target', path: name, data });
      return { action: 'create', role, type: 'target', path: name, data, file: stored };
    });
  }

  async publish(): Promise<PublishResult> {
    return publish({
      gun: this.gun,
      remote: this.#remote('push,pull'),
      cache: this.cache,
      pinning: this.#opts.config.trustPinning,
      now: this.#now(),
      changelist: this.changelist,
      keys: this.#keys(),
    });
  }

  async #trusted() {
    const result = await refresh({ gun: this.gun, remote: this.#remote('pull'), cache: this.cache, pinning: this.#opts.config.trustPinning, now: this.#now() });
    this.#warnAll(result.warnings);
    this.cache.writeMany(result.downloads);
    return result.set;
  }

  /** Every target visible in the verified metadata (optionally only below `roles`). */
  async list(roles: readonly RoleName[] = []): Promise<TargetMatch[]> {
    const set = await this.#trusted();
    return set.listTargets(roles.length > 0 ? { roles } : {});
  }

  /** @throws {TargetNotFoundError} when no trusted role holds `name`. */
  async lookup(name: string, roles: readonly RoleName[] = []): Promise<TargetMatch> {
    const set = await this.#trusted();
    const match = set.lookupTarget(name, roles.length > 0 ? { roles } : {});
    if (match === undefined) throw new TargetNotFoundError(`no trust data for ${JSON.stringify(name)} in ${this.gun}`);
    return match;
  }

  status(): StoredChange[] {
    return this.changelist.list();
  }

  reset(options: { all?: boolean; indexes?: readonly number[] }): void {
    if (options.all === true) this.changelist.clear();
    else if (options.indexes !== undefined && options.indexes.length > 0) this.changelist.remove(options.indexes);
    else throw new UsageError('say which changes to reset: -n <index> (see `signet status`) or --all');
  }
}

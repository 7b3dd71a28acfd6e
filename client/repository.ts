// SPDX-License-Identifier: Apache-2.0
// One GUN as the CLI sees it: configuration, trust dir, server, keys, and the
// operations on it: init, staging changes (add and the generic `stage` the
// other commands use), publish, verified reads (list, lookup, `trusted`),
// status, reset, and deleting trust data. Every read goes through `refresh`
// (TrustedMetadataSet) over ReadRemote, which falls back to the cached
// timestamp when the server is unreachable; the cache is written only after
// a command's verification (or publish) succeeded.

import fs from 'node:fs';
import { DeserializationError, TrustDirError, TrustError, UsageError, type TrustErrorOptions } from '../shared/errors.js';
import { assertGun, isTargetsRoleName } from '../shared/tuf/names.js';
import type { RoleName } from '../shared/tuf/model.js';
import type { TargetMatch, TrustedMetadataSet } from '../shared/verify/index.js';
import { CryptoService, FileKeyStore, trustDirRemedy, type KeyStore, type PassphraseRetriever } from '../keys/index.js';
import { MetadataCache } from './cache.js';
import { FileChangelist, type Change, type StoredChange } from './changelist.js';
import type { ClientConfig } from './config.js';
import { initRepository, type InitResult } from './init.js';
import { checkCustomData, checkTargetName, encodeFileMeta, targetFileFromBytes } from './metadata.js';
import { createHttpSend, type HttpSend } from './http-transport.js';
import { loggingSend, quietLog, type CliLog } from './log.js';
import { noProgress, type Progress } from './progress.js';
import { publish, type PublishResult } from './publish.js';
import { ReadRemote } from './read-remote.js';
import { NotaryRemote, type RemoteAccess } from './remote.js';
import { changelistDir, gunDir, metadataDir } from './trust-dir.js';
import { asCredentialSource, type CredentialsInput } from './credentials.js';
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
  readonly credentials: CredentialsInput;
  readonly now?: () => Date;
  readonly timeoutMs?: number;
  readonly send?: HttpSend;
  readonly warn?: (message: string) => void;
  /** -v / -D output; quiet by default. */
  readonly log?: CliLog;
  /** Progress bars (only ever enabled on a terminal). */
  readonly progress?: Progress;
  /** The key stores around the trust dir's file store (a PKCS#11 token first, when configured); default: the file store alone. */
  readonly keyStores?: (files: FileKeyStore) => KeyStore[];
  /** Where HTTP_PROXY / HTTPS_PROXY / NO_PROXY are read; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export class RepositorySession {
  readonly gun: string;
  readonly cache: MetadataCache;
  readonly changelist: FileChangelist;
  readonly #opts: SessionOptions;
  /** The transport of this session's remotes, made on first use (so -D says once how each server is reached). */
  #transport: HttpSend | undefined;

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

  get log(): CliLog {
    return this.#opts.log ?? quietLog;
  }

  get progress(): Progress {
    return this.#opts.progress ?? noProgress;
  }

  #remoteOptions(access: RemoteAccess) {
    const { config, credentials, timeoutMs, send, env } = this.#opts;
    const log = this.log;
    this.#transport ??= loggingSend(send ?? createHttpSend(config.tls, { ...(env === undefined ? {} : { env }), ...(log.level === 'debug' ? { debug: (m: string) => log.debug(m) } : {}) }), log);
    return {
      serverUrl: config.serverUrl,
      gun: this.gun,
      tls: config.tls,
      access,
      credentials,
      send: this.#transport,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    };
  }

  #remote(access: RemoteAccess): NotaryRemote {
    return new NotaryRemote(this.#remoteOptions(access));
  }

  #keys(): CryptoService {
    const files = new FileKeyStore(this.#opts.config.trustDir, { retriever: this.#opts.retriever });
    return new CryptoService(this.#opts.keyStores?.(files) ?? [files]);
  }

  /** The same session with another passphrase source (e.g. environment only, for CI commands that must never prompt). */
  withRetriever(retriever: PassphraseRetriever): RepositorySession {
    return new RepositorySession({ ...this.#opts, retriever });
  }

  /** The same session, never asking anyone for a login: only what is at hand (CI steps such as `sign`). */
  withoutLoginPrompt(): RepositorySession {
    const source = asCredentialSource(this.#opts.credentials);
    return new RepositorySession({ ...this.#opts, credentials: { known: () => source.known(), prompt: () => Promise.resolve(null) } });
  }

  /** The key stores of this trust dir (to decide which roles we can sign). */
  keyService(): CryptoService {
    return this.#keys();
  }

  #warnAll(warnings: readonly string[]): void {
    for (const w of warnings) this.#opts.warn?.(w);
  }

  async init(options: { rootKeyFile?: string; rootCertFile?: string } = {}): Promise<InitResult> {
    return initRepository({
      ...options,
      gun: this.gun,
      trustDir: this.#opts.config.trustDir,
      remote: this.#remote('push,pull'),
      cache: this.cache,
      retriever: this.#opts.retriever,
      now: this.#now(),
      ...(this.#opts.keyStores === undefined ? {} : { keyStores: this.#opts.keyStores }),
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
    return this.stage(roles.map((role) => ({ action: 'create', role, type: 'target', path: name, data })));
  }

  /** Stage changes as they are (the commands build them, see changes.ts), all or none. */
  stage(changes: readonly Change[]): StoredChange[] {
    const files = this.changelist.addAll(changes);
    return changes.map((c, i) => ({ ...c, file: files[i]! }));
  }

  /** Publish the staged changes, or exactly `changes` (leaving the changelist alone). */
  async publish(changes?: readonly StoredChange[]): Promise<PublishResult> {
    const result = await publish({
      gun: this.gun,
      remote: this.#remote('push,pull'),
      cache: this.cache,
      pinning: this.#opts.config.trustPinning,
      now: this.#now(),
      changelist: this.changelist,
      keys: this.#keys(),
      log: this.log,
      progress: this.progress,
      ...(changes === undefined ? {} : { changes }),
    });
    this.#warnAll(result.warnings);
    return result;
  }

  /** The verified current metadata (cached timestamp if the server cannot be reached). */
  async trusted(): Promise<TrustedMetadataSet> {
    const remote = new ReadRemote({ ...this.#remoteOptions('pull'), cache: this.cache, warn: (m) => this.#opts.warn?.(m), progress: this.progress });
    try {
      const result = await refresh({ gun: this.gun, remote, cache: this.cache, pinning: this.#opts.config.trustPinning, now: this.#now() });
      this.#warnAll(result.warnings);
      try {
        this.cache.writeMany(result.downloads);
      } catch (e) {
        // what was read is verified; a cache that cannot take it (read-only, full) only costs the next command a download, as with notary
        if (!(e instanceof TrustDirError)) throw e;
        this.#opts.warn?.(`${e.message}; the verified metadata was used without caching it`);
      }
      return result.set;
    } finally {
      remote.finish();
    }
  }

  /** Remove local trust data (metadata cache and staged changes; keys stay), and with `remote` the server's too. */
  async deleteTrustData(options: { remote: boolean }): Promise<void> {
    // Remote first: if the server refuses, the local copy is still there to retry with.
    if (options.remote) await this.#remote('*').deleteAll();
    // Only this GUN's own folders: notary removes <trust_dir>/tuf/<gun> whole, which also wipes nested GUNs (<gun>/sub).
    const dir = gunDir(this.#opts.config.trustDir, this.gun);
    for (const d of [metadataDir(this.#opts.config.trustDir, this.gun), changelistDir(this.#opts.config.trustDir, this.gun)]) {
      try {
        fs.rmSync(d, { recursive: true, force: true });
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code;
        throw new TrustDirError(`cannot remove ${(cause as NodeJS.ErrnoException).path ?? d} (${code ?? String(cause)}); ${trustDirRemedy(code)}${options.remote ? '. The server\'s copy is already deleted' : ''}`, { cause });
      }
    }
    try {
      fs.rmdirSync(dir);
    } catch {
      // not empty (nested GUNs) or already gone
    }
  }

  /** Every target visible in the verified metadata (optionally only below `roles`). */
  async list(roles: readonly RoleName[] = []): Promise<TargetMatch[]> {
    const set = await this.trusted();
    return set.listTargets({ ...(roles.length > 0 ? { roles } : {}), onLimit: this.#opts.warn });
  }

  /** @throws {TargetNotFoundError} when no trusted role holds `name`. */
  async lookup(name: string, roles: readonly RoleName[] = []): Promise<TargetMatch> {
    const set = await this.trusted();
    const match = set.lookupTarget(name, { ...(roles.length > 0 ? { roles } : {}), onLimit: this.#opts.warn });
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

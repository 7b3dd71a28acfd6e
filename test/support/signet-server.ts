// SPDX-License-Identifier: Apache-2.0
// End-to-end support for signet-server. SignetServerProcess runs the compiled
// server (the `server/main.js` of the same build as this file: dist/ or a
// build dir) on a free 127.0.0.1 port over a temporary embedded data dir
// (copied from a migrated template) or a PostgreSQL schema of its own; start()
// returns once `/_notary_server/health` answers, stop() and kill() always end
// it, and anything still running is SIGKILLed when the test process exits.
// NotaryCli drives the stock notary CLI (passphrases from its environment,
// never printed); the rest crafts and posts uploads the CLI will not make.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { FileKeyStore } from '../../keys/file-store.js';
import { constantPassphraseRetriever } from '../../keys/passphrase.js';
import { notaryCodec } from '../../shared/codec/notary.js';
import type { PublicKey, Signed, Signer, TargetFile } from '../../shared/tuf/model.js';
import { pgliteTemplate } from './pglite-template.js';
import { freePort, sleep } from './net.js';

export const PG_URL = process.env.SIGNET_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const SIGNER_PASSPHRASE = 'h11-signer-key-passphrase';
/** The server entry point of this build. */
export const SERVER_MAIN = fileURLToPath(new URL('../../server/main.js', import.meta.url));

export type ServerStorage = { readonly kind: 'embedded'; readonly dataDir: string } | { readonly kind: 'postgres'; readonly databaseUrl: string };

const running = new Set<ChildProcess>();
let logDir: string | undefined;
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  if (logDir !== undefined) fs.rmSync(logDir, { recursive: true, force: true });
});

const exitedOf = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

export class SignetServerProcess {
  readonly #child: ChildProcess;
  readonly #logFile: string;

  private constructor(
    readonly url: string,
    readonly port: number,
    readonly storage: ServerStorage,
    child: ChildProcess,
    logFile: string,
  ) {
    this.#child = child;
    this.#logFile = logFile;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /**
   * Start signet-server on `storage` and wait (up to `timeoutMs`) until its health check answers 200.
   * A fixed `port` is used as given; otherwise a free one is picked (and re-picked if taken meanwhile).
   */
  static async start(storage: ServerStorage, options: { port?: number; timeoutMs?: number } = {}): Promise<SignetServerProcess> {
    logDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'signet-h11-logs-'));
    const timeoutMs = options.timeoutMs ?? 120_000;
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? (await freePort());
      const logFile = path.join(logDir, `server-${Date.now()}-${attempt}.log`);
      const out = fs.openSync(logFile, 'w');
      const where = storage.kind === 'embedded' ? ['--data-dir', storage.dataDir] : ['--database-url', storage.databaseUrl];
      const child = spawn(process.execPath, [SERVER_MAIN, '--listen', `127.0.0.1:${port}`, ...where, '--log-level', 'info'], {
        stdio: ['ignore', out, out],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SIGNET_SIGNER_KEY_PASSPHRASE: SIGNER_PASSPHRASE },
      });
      fs.closeSync(out);
      running.add(child);
      child.once('exit', () => running.delete(child));
      const server = new SignetServerProcess(`http://127.0.0.1:${port}`, port, storage, child, logFile);
      const deadline = Date.now() + timeoutMs;
      while (server.alive && Date.now() < deadline) {
        try {
          const res = await fetch(`${server.url}/_notary_server/health`);
          if (res.status === 200 && (await res.text()) === '{}') return server;
        } catch {
          // not listening yet
        }
        await sleep(100);
      }
      const log = server.log();
      await server.kill();
      const portTaken = /address is in use/.test(log);
      if (!portTaken || options.port !== undefined || attempt >= 2) {
        throw new Error(`signet-server did not become healthy on port ${port} (${server.alive ? 'timed out' : 'exited'}):\n${log}`);
      }
    }
  }

  log(): string {
    try {
      return fs.readFileSync(this.#logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** SIGKILL, as a crash would; resolves once the process is gone. */
  async kill(): Promise<void> {
    const exited = exitedOf(this.#child);
    if (this.alive) this.#child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (graceful drain), SIGKILL after `graceMs`. Safe to call twice. */
  async stop(graceMs = 10_000): Promise<void> {
    const exited = exitedOf(this.#child);
    if (!this.alive) return;
    this.#child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    await this.kill();
  }

  /** Exit code and signal once the process has ended. */
  async exitStatus(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await exitedOf(this.#child);
    return { code: this.#child.exitCode, signal: this.#child.signalCode };
  }
}

export interface TestStorage {
  readonly name: 'embedded' | 'postgres';
  /** Why this storage cannot be used here, or undefined. */
  readonly skip: string | undefined;
  readonly storage: ServerStorage;
  cleanup(): Promise<void>;
}

/** A fresh embedded data dir (a copy of the migrated template) in a temp dir. */
export async function embeddedStorage(): Promise<TestStorage> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-h11-data-'));
  const dataDir = path.join(root, 'data');
  fs.cpSync(await pgliteTemplate(), dataDir, { recursive: true });
  return {
    name: 'embedded',
    skip: undefined,
    storage: { kind: 'embedded', dataDir },
    async cleanup() {
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

const redact = (url: string): string => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * PostgreSQL in a schema of its own. signet-server has no schema flag, so the
 * URL carries libpq's `options=-c search_path=<schema>` and the schema is
 * created here first (the migrations create tables in it).
 */
export async function postgresStorage(): Promise<TestStorage> {
  const schema = `h11_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  let skip: string | undefined;
  try {
    await withPg((c) => c.query(`CREATE SCHEMA "${schema}"`));
  } catch (err) {
    skip = `PostgreSQL not reachable at ${redact(PG_URL)} (${err instanceof Error ? err.message : String(err)}): skipped the PostgreSQL variant`;
  }
  return {
    name: 'postgres',
    skip,
    storage: { kind: 'postgres', databaseUrl: url.toString() },
    async cleanup() {
      if (skip === undefined) await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).catch(() => undefined);
    },
  };
}

/** Both storages, embedded first. */
export async function bothStorages(): Promise<TestStorage[]> {
  return [await embeddedStorage(), await postgresStorage()];
}

/** Passphrases the notary CLI reads from its environment (never printed). */
export const NOTARY_PASSPHRASES = {
  NOTARY_ROOT_PASSPHRASE: 'h11-root-pass',
  NOTARY_TARGETS_PASSPHRASE: 'h11-targets-pass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'h11-snapshot-pass',
  NOTARY_DELEGATION_PASSPHRASE: 'h11-delegation-pass',
} as const;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** One notary CLI user: a trust dir of its own under `home`, talking to `serverUrl`. Asynchronous, so servers in this process keep running. */
export class NotaryCli {
  readonly trustDir: string;

  constructor(
    readonly serverUrl: string,
    readonly home: string,
    name = 'trust',
  ) {
    this.trustDir = path.join(home, name);
  }

  /** `notary -s URL -d DIR <args>`, with `input` on stdin. */
  run(args: readonly string[], input = ''): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn('notary', ['-s', this.serverUrl, '-d', this.trustDir, ...args], {
        cwd: this.home,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.home, ...NOTARY_PASSPHRASES },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal === null ? 1 : 128), stdout, stderr });
      });
      child.stdin.end(input);
    });
  }

  /** Like run, but throws with the CLI's output unless it exits 0. */
  async ok(args: readonly string[], input = ''): Promise<CliResult> {
    const r = await this.run(args, input);
    if (r.code !== 0) throw new Error(`notary ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
    return r;
  }
}

/**
 * Rows of a notary CLI table (list, delegation list, key list, status): the
 * lines after the `----` rule, cells split on runs of 2+ spaces. A line that
 * starts with blanks continues the previous row (more key IDs of a role).
 */
export function parseTable(output: string): string[][] {
  const lines = output.split('\n');
  const rule = lines.findIndex((l) => /^-+(\s+-+)+\s*$/.test(l));
  if (rule < 0) return [];
  const rows: string[][] = [];
  for (const line of lines.slice(rule + 1)) {
    if (line.trim() === '') continue;
    const cells = line.trim().split(/\s{2,}/);
    const last = rows[rows.length - 1];
    if (/^\s/.test(line) && last !== undefined) last.push(...cells);
    else rows.push(cells);
  }
  return rows;
}

/** A `notary list` row for a payload: name, sha256 hex, size, role. */
export function listRow(name: string, content: string | Buffer, role = 'targets'): string[] {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return [name, createHash('sha256').update(bytes).digest('hex'), String(bytes.length), role];
}

/** GET a metadata file from a server: `/v2/<gun>/_trust/tuf/<name>.json`; returns status and bytes. */
export async function getMetadata(serverUrl: string, gun: string, name: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${serverUrl}/v2/${gun}/_trust/tuf/${name}.json`);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/** An openssl P-256 self-signed certificate (CN `name`) in `dir`; over `existingKey` when given (two certificates of one key). */
export function opensslCertificate(dir: string, name: string, existingKey?: string): Promise<{ key: string; cert: string }> {
  const key = existingKey ?? path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  const keyArgs = existingKey === undefined ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key] : ['-key', existingKey];
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['req', '-x509', ...keyArgs, '-out', cert, '-days', '365', '-subj', `/CN=${name}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve({ key, cert }) : reject(new Error(`openssl req for ${name} failed: ${stderr}`))));
  });
}

/** notary's canonical key ID of a certificate's public key (what `delegation list` and `key list` show). */
export function canonicalIdOfCertificate(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return createHash('sha256').update(`{"keytype":"ecdsa","keyval":{"private":null,"public":"${spki}"}}`).digest('hex');
}

/** POST a publish (multipart, one `files` part per role, as the Go CLI sends it). */
export async function postUpdate(serverUrl: string, gun: string, parts: readonly { role: string; data: Buffer }[]): Promise<{ status: number; body: string }> {
  const boundary = `h11${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${p.role}"\r\nContent-Type: application/octet-stream\r\n\r\n`), p.data, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  const res = await fetch(`${serverUrl}/v2/${gun}/_trust/tuf/`, { method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` }, body: Buffer.concat(chunks) });
  return { status: res.status, body: await res.text() };
}

/** Metadata bytes for `signed` as notary writes them, signed by each signer in turn (one may appear twice). */
export async function signMetadata(signed: Signed, signers: readonly Signer[]): Promise<Buffer> {
  const tree = notaryCodec.toSignedTree(signed);
  const bytes = notaryCodec.signedBytes(tree);
  const signatures = [];
  for (const s of signers) signatures.push(await s.sign(bytes));
  return notaryCodec.encode(tree, signatures);
}

/** A target entry for `content`: length and both hashes, as the notary CLI writes them. */
export function targetFile(content: string | Buffer): TargetFile {
  const b = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return { length: b.length, hashes: new Map([['sha256', createHash('sha256').update(b).digest()], ['sha512', createHash('sha512').update(b).digest()]]) };
}

/** A signer from the notary CLI trust dir (the owner's targets key, a delegate's imported key), unlocked with the test passphrases. */
export async function trustDirSigner(cli: NotaryCli, role: string, publicKey?: PublicKey): Promise<Signer> {
  const passphrase = role === 'targets' ? NOTARY_PASSPHRASES.NOTARY_TARGETS_PASSPHRASE : role === 'snapshot' ? NOTARY_PASSPHRASES.NOTARY_SNAPSHOT_PASSPHRASE : role === 'root' ? NOTARY_PASSPHRASES.NOTARY_ROOT_PASSPHRASE : NOTARY_PASSPHRASES.NOTARY_DELEGATION_PASSPHRASE;
  const store = new FileKeyStore(cli.trustDir, { retriever: constantPassphraseRetriever(passphrase) });
  const key = (await store.list()).find((k) => k.role === role);
  if (key === undefined) throw new Error(`no ${role} key in ${cli.trustDir}`);
  return store.getSigner(key.keyId, publicKey);
}

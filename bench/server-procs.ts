// SPDX-License-Identifier: Apache-2.0
// The servers under test, each a child process on 127.0.0.1 with its own
// scratch storage: signet-server (dist/server/main.js next to this file's
// build) on the embedded store or on a fresh PostgreSQL database, and
// notary-server (the Debian binary, notary-wire.md §9) on memory or on a
// fresh PostgreSQL database holding notary's own tables. Logs go to files in
// the run's temporary directory (both servers log every request at info, as
// in production). Server CPU is read from /proc/<pid>/stat.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, sleep } from '../test/support/net.js';
import { NOTARY_SERVER_PG_SCHEMA } from './notary-pg-schema.js';

export type ServerKind = 'signet' | 'notary' | 'baseline';
export type StorageKind = 'embedded' | 'postgres' | 'memory';

export interface ServerProcess {
  readonly kind: ServerKind;
  readonly storage: StorageKind;
  readonly url: string;
  readonly pid: number;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});


function tail(file: string, bytes = 1500): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

async function waitHealthy(url: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited early (${child.exitCode ?? child.signalCode}); log tail:\n${tail(logFile)}`);
    try {
      const res = await fetch(`${url}/_notary_server/health`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`server at ${url} not healthy after ${timeoutMs} ms; log tail:\n${tail(logFile)}`);
}

function launch(kind: ServerKind, storage: StorageKind, command: string, args: string[], env: NodeJS.ProcessEnv, dir: string, port: number): Promise<ServerProcess> {
  const logFile = path.join(dir, `${kind}-${storage}.log`);
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(command, args, { env, cwd: dir, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const pid = child.pid;
  if (pid === undefined) return Promise.reject(new Error(`cannot start ${command}`));
  return waitHealthy(url, child, logFile, 60_000).then(
    () => ({ kind, storage, url, pid, logFile, stop }),
    async (err: unknown) => {
      await stop();
      throw err;
    },
  );
}

/** dist/server/main.js of the same build as this file; SIGNET_BENCH_SERVER_MAIN names another build's (A/B runs). */
export const SIGNET_MAIN = process.env.SIGNET_BENCH_SERVER_MAIN ?? fileURLToPath(new URL('../server/main.js', import.meta.url));

export async function startSignet(options: { storage: 'embedded' | 'postgres'; databaseUrl?: string; dir: string; logLevel: string; profileDir?: string }): Promise<ServerProcess> {
  const port = await freePort();
  // --cpu-prof writes the profile when the process exits normally (SIGTERM: graceful shutdown).
  const profile = options.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.profileDir];
  const args = [...profile, SIGNET_MAIN, '--listen', `127.0.0.1:${port}`, '--log-level', options.logLevel];
  if (options.storage === 'postgres') {
    if (options.databaseUrl === undefined) throw new Error('signet on PostgreSQL needs a database URL');
    args.push('--database-url', options.databaseUrl);
  } else {
    args.push('--data-dir', path.join(options.dir, 'signet-data'));
  }
  // A throw-away passphrase for the server-held keys: through the environment, never printed.
  const env = { ...process.env, SIGNET_SIGNER_KEY_PASSPHRASE: randomBytes(24).toString('hex') };
  return launch('signet', options.storage, process.execPath, args, env, options.dir, port);
}

export function notaryServerAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v notary-server'], { stdio: 'ignore' }).status === 0;
}

export async function startNotary(options: { storage: 'memory' | 'postgres'; databaseUrl?: string; dir: string; logLevel: string }): Promise<ServerProcess> {
  const port = await freePort();
  let storage: Record<string, string> = { backend: 'memory' };
  if (options.storage === 'postgres') {
    if (options.databaseUrl === undefined) throw new Error('notary on PostgreSQL needs a database URL');
    const u = new URL(options.databaseUrl);
    if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable'); // lib/pq defaults to TLS
    storage = { backend: 'postgres', db_url: u.toString() };
  }
  const config = { server: { http_addr: `127.0.0.1:${port}` }, trust_service: { type: 'local' }, storage, logging: { level: options.logLevel === 'warn' ? 'warning' : options.logLevel } };
  const file = path.join(options.dir, `notary-${options.storage}.json`);
  fs.writeFileSync(file, JSON.stringify(config));
  return launch('notary', options.storage, 'notary-server', ['-config', file], process.env, options.dir, port);
}

/** A database created for one server and dropped afterwards. */
export interface ScratchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(adminUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** CREATE DATABASE <name> beside the admin URL's database; with `schema`, load it. */
export async function createScratchDatabase(adminUrl: string, name: string, schema?: string): Promise<ScratchDatabase> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  await withAdmin(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  if (schema !== undefined) await withAdmin(url, (c) => c.query(schema).then(() => undefined));
  let dropped = false;
  return {
    url,
    async drop(): Promise<void> {
      if (dropped) return;
      dropped = true;
      await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined));
    },
  };
}

export const notaryDatabase = (adminUrl: string, name: string): Promise<ScratchDatabase> => createScratchDatabase(adminUrl, name, NOTARY_SERVER_PG_SCHEMA);

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    ticksPerSecond = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

/** utime + stime of a /proc/<pid>/stat line, in clock ticks (fields 14 and 15; the command name may hold spaces or parentheses). */
export function parseStatTicks(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line');
  const fields = stat.slice(close + 2).trim().split(/\s+/); // fields[0] is field 3 (state)
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unreadable utime/stime in /proc/<pid>/stat');
  return utime + stime;
}

/** CPU seconds (user + system, every thread) a process has used so far. */
export function cpuSeconds(pid: number): number {
  return parseStatTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) / clockTicks();
}

/** A bare node:http server answering every request with `body`: what the load generator can drive at most. */
export async function startBaseline(dir: string, body: Buffer): Promise<ServerProcess> {
  const port = await freePort();
  const file = path.join(dir, 'baseline-body');
  fs.writeFileSync(file, body);
  const script =
    "const http = require('node:http'); const body = require('node:fs').readFileSync(process.argv[1]);" +
    "http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length }); res.end(body); })" +
    ".listen(Number(process.argv[2]), '127.0.0.1');";
  return launch('baseline', 'memory', process.execPath, ['-e', script, file, String(port)], process.env, dir, port);
}

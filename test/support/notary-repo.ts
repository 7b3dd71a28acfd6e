// SPDX-License-Identifier: Apache-2.0
// Drives the real notary 0.7 binaries for interop tests: a throw-away
// `notary-server` (memory storage, local signer, no TLS, notary-wire.md §9) on
// a free 127.0.0.1 port, the `notary` CLI against a private trust dir, openssl
// for delegate certificates, and plain HTTP GETs of the served metadata.
// Passphrases reach the CLI through NOTARY_*_PASSPHRASE only; nothing here
// prints them. Callers must stop() the server in a finally/after hook; it is
// also killed if the test process exits first.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, sleep } from './net.js';

export const PASSPHRASES = {
  NOTARY_ROOT_PASSPHRASE: 'h4-root-pass',
  NOTARY_TARGETS_PASSPHRASE: 'h4-targets-pass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'h4-snapshot-pass',
  NOTARY_DELEGATION_PASSPHRASE: 'h4-delegation-pass',
} as const;

/** Why the notary binaries cannot be used here, or null when they can. */
export function notaryUnavailable(): string | null {
  for (const bin of ['notary', 'notary-server', 'openssl']) {
    const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
    if (r.status !== 0) return `${bin} is not installed (Debian package ${bin === 'openssl' ? 'openssl' : 'notary'})`;
  }
  return null;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export class NotaryServerProcess {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #logFile: string;

  private constructor(url: string, child: ChildProcess, dir: string, logFile: string) {
    this.url = url;
    this.#child = child;
    this.#dir = dir;
    this.#logFile = logFile;
  }

  /** Start notary-server and wait until `GET /v2/` answers. */
  static async start(): Promise<NotaryServerProcess> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-h4-server-'));
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const config = path.join(dir, 'server.json');
      const server = { server: { http_addr: `127.0.0.1:${port}` }, trust_service: { type: 'local' }, storage: { backend: 'memory' }, logging: { level: 'info' } };
      fs.writeFileSync(config, JSON.stringify(server));
      const logFile = path.join(dir, `server-${attempt}.log`);
      const out = fs.openSync(logFile, 'w');
      const child = spawn('notary-server', ['-config', config], { stdio: ['ignore', out, out] });
      fs.closeSync(out);
      running.add(child);
      const proc = new NotaryServerProcess(`http://127.0.0.1:${port}`, child, dir, logFile);
      for (let i = 0; i < 100 && child.exitCode === null; i++) {
        try {
          if ((await fetch(`${proc.url}/v2/`)).ok) return proc;
        } catch {
          // not listening yet
        }
        await sleep(100);
      }
      const log = proc.log();
      await proc.stop();
      if (attempt >= 2) throw new Error(`notary-server did not start:\n${log}`);
    }
  }

  log(): string {
    try {
      return fs.readFileSync(this.#logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Kill the server and remove its directory. Safe to call twice. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    running.delete(child);
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A notary CLI user with a private trust dir, publishing one GUN to one server. */
export class NotaryRepo {
  readonly dir: string;
  readonly trustDir: string;

  constructor(
    readonly serverUrl: string,
    readonly gun: string,
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-h4-client-'));
    this.trustDir = path.join(this.dir, 'trust');
  }

  /** Run `notary <args>`; throws with the CLI's output when it fails. */
  run(args: readonly string[]): RunResult {
    const r = spawnSync('notary', ['-d', this.trustDir, '-s', this.serverUrl, ...args], {
      encoding: 'utf8',
      timeout: 120_000,
      input: '',
      cwd: this.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir, ...PASSPHRASES },
    });
    const result = { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    if (r.status !== 0) throw new Error(`notary ${args.join(' ')} failed (${r.status ?? r.signal}):\n${result.stdout}${result.stderr}`);
    return result;
  }

  /** Write a payload file in the client dir and return its path. */
  writeFile(name: string, content: string | Buffer): string {
    const p = path.join(this.dir, name);
    fs.writeFileSync(p, content);
    return p;
  }

  /** An openssl P-256 key and self-signed certificate for a delegate. */
  makeDelegateCertificate(commonName: string): { key: string; cert: string } {
    const key = path.join(this.dir, `${commonName}.key`);
    const cert = path.join(this.dir, `${commonName}.crt`);
    const r = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '365', '-subj', `/CN=${commonName}`],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    return { key, cert };
  }

  /** GET a metadata file the way a client does: `/v2/<gun>/_trust/tuf/<name>.json`. */
  async fetchMetadata(name: string): Promise<Buffer> {
    const res = await fetch(`${this.serverUrl}/v2/${this.gun}/_trust/tuf/${name}.json`);
    if (res.status !== 200) throw new Error(`GET ${name}.json: HTTP ${res.status} ${await res.text()}`);
    return Buffer.from(await res.arrayBuffer());
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// SPDX-License-Identifier: Apache-2.0
// The real notary binaries for interop tests: run the `notary` CLI against a
// trust dir, and start a throw-away `notary-server` (memory storage, local
// signer, no TLS) on a free 127.0.0.1 port. Callers must `await stop()` in a
// finally/after hook; the process is also killed when the test process exits.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../support/net.js';

export const NOTARY_PASSPHRASES = {
  NOTARY_ROOT_PASSPHRASE: 'interop-root-pass',
  NOTARY_TARGETS_PASSPHRASE: 'interop-targets-pass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'interop-snapshot-pass',
  NOTARY_DELEGATION_PASSPHRASE: 'interop-delegation-pass',
} as const;

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runNotary(args: readonly string[], opts: { trustDir: string; server?: string; env?: Record<string, string>; input?: string }): RunResult {
  const full = ['-d', opts.trustDir, '-s', opts.server ?? 'http://127.0.0.1:9', ...args];
  const r = spawnSync('notary', full, {
    encoding: 'utf8',
    timeout: 60_000,
    input: opts.input ?? '',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.trustDir, ...opts.env },
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export interface NotaryServer {
  url: string;
  stop(): Promise<void>;
  log(): string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export async function startNotaryServer(): Promise<NotaryServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-nserver-'));
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'server.json');
    fs.writeFileSync(
      config,
      JSON.stringify({ server: { http_addr: `127.0.0.1:${port}` }, trust_service: { type: 'local' }, storage: { backend: 'memory' }, logging: { level: 'error' } }),
    );
    const logFile = path.join(dir, `server-${attempt}.log`);
    const out = fs.openSync(logFile, 'w');
    const child = spawn('notary-server', ['-config', config], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    running.add(child);
    const url = `http://127.0.0.1:${port}`;
    const stop = async (): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) {
        running.delete(child);
        return;
      }
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
      running.delete(child);
    };
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      try {
        const r = await fetch(`${url}/v2/`);
        if (r.status === 200) return { url, stop, log: () => fs.readFileSync(logFile, 'utf8') };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await stop();
  }
  throw new Error(`notary-server did not start; logs in ${dir}`);
}

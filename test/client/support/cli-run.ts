// SPDX-License-Identifier: Apache-2.0
// Running signet in-process and the notary CLI as a child, both without
// blocking the event loop (an in-process signet-server must keep answering).

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { runCli } from '../../../client/cli.js';
import { NOTARY_PASSPHRASES } from './notary.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A stream that collects what is written to it. */
export function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(Buffer.from(chunk));
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/** signet with CI=true (never prompts) and the interop passphrases; `input` becomes stdin. */
export async function signet(args: readonly string[], options: { input?: Buffer | string; env?: Record<string, string> } = {}): Promise<Run> {
  const out = sink();
  const err = sink();
  const stdin = new PassThrough();
  stdin.end(options.input ?? '');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-home-'));
  try {
    const code = await runCli(args, { stdout: out.stream, stderr: err.stream, stdin, env: { HOME: home, CI: 'true', ...NOTARY_PASSPHRASES, ...options.env } });
    return { code, stdout: out.text(), stderr: err.text() };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** The notary 0.7 CLI against `server`, asynchronously. */
export function notaryAsync(args: readonly string[], opts: { trustDir: string; server: string; env?: Record<string, string> }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'notary',
      ['-d', opts.trustDir, '-s', opts.server, ...args],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: opts.trustDir, ...NOTARY_PASSPHRASES, ...opts.env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

/** Every file below `dir` with its bytes, for "nothing changed" assertions. */
export function treeOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p).toString('base64'));
    }
  };
  walk(dir);
  return out;
}

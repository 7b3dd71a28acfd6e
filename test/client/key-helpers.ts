// SPDX-License-Identifier: Apache-2.0
// Shared by the key, rotation and lifecycle tests: run the signet CLI
// in-process, copy fixture trust dirs, and take "nothing changed" pictures of
// directories.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../client/cli.js';
import type { PassphraseRetriever } from '../../keys/index.js';
import { fixture } from '../support/paths.js';
import { NOTARY_PASSPHRASES } from './support/notary.js';
import { sink, treeOf, type Run } from './support/cli-run.js';

export type { Run };



export interface SignetOptions {
  env?: Record<string, string>;
  retriever?: PassphraseRetriever;
  home?: string;
}

/** `signet <args>` with CI=true, no TTY, a scratch HOME and the interop passphrases unless `env` replaces them. */
export async function signet(args: string[], opts: SignetOptions = {}): Promise<Run> {
  const out = sink();
  const err = sink();
  const home = opts.home ?? fs.mkdtempSync(path.join(os.tmpdir(), 'signet-home-'));
  const env = { HOME: home, CI: 'true', ...(opts.env ?? NOTARY_PASSPHRASES) };
  const code = await runCli(args, { stdout: out.stream, stderr: err.stream, stdin: new PassThrough(), env, ...(opts.retriever === undefined ? {} : { retriever: opts.retriever }) });
  return { code, stdout: out.text(), stderr: err.text() };
}

export function tmp(prefix = 'signet-keytest-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A writable copy of fixtures/trust_dir/<name> with notary's modes. */
export function copyFixtureTrustDir(name: string): string {
  const dir = tmp();
  fs.cpSync(fixture('trust_dir', name), dir, { recursive: true });
  const fix = (p: string): void => {
    const st = fs.statSync(p);
    fs.chmodSync(p, st.isDirectory() ? 0o700 : 0o600);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) fix(path.join(p, e));
  };
  fix(dir);
  return dir;
}

/** Every file below `dir` with its bytes. */
export const snapshotTree = treeOf;

export function keyFiles(trustDir: string): string[] {
  const dir = path.join(trustDir, 'private');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.key')).sort() : [];
}

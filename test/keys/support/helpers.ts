// SPDX-License-Identifier: Apache-2.0
// Shared by the keys/ tests: fixture passphrases, scratch trust dirs, the
// "nothing unencrypted, modes right" directory audit, and the notary binary.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createPublicKey, constants, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { KeyStoreError, type ErrorCode } from '../../../shared/errors.js';
import type { Signature } from '../../../shared/tuf/model.js';
import { fixture } from '../../support/paths.js';

/** fixtures/README.md, "Passphrases". */
export const FIXTURE_ENV: Readonly<Record<string, string>> = {
  NOTARY_ROOT_PASSPHRASE: 'fixture-root-pass',
  NOTARY_TARGETS_PASSPHRASE: 'fixture-targets-pass',
  NOTARY_SNAPSHOT_PASSPHRASE: 'fixture-snapshot-pass',
  NOTARY_DELEGATION_PASSPHRASE: 'fixture-delegation-pass',
};
export const FIXTURE_PASS_BY_ROLE: Readonly<Record<string, string>> = {
  root: 'fixture-root-pass',
  targets: 'fixture-targets-pass',
  snapshot: 'fixture-snapshot-pass',
  'targets/releases': 'fixture-delegation-pass',
  'targets/jenkins': 'fixture-delegation-pass',
};
export const FIXTURE_TRUST_DIRS = ['owner-after-init', 'owner', 'delegate'] as const;
export const fixturePrivateDir = (d: string): string => fixture('trust_dir', d, 'private');

const created: string[] = [];
// Each test file runs in its own process: clean its scratch dirs when it ends.
process.on('exit', () => {
  for (const d of created) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'signet-keys-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

/** Copies a fixture trust dir's private keys into a fresh scratch trust dir. */
export function copyFixtureTrustDir(name: string): string {
  const dir = tempDir();
  const priv = path.join(dir, 'private');
  fs.cpSync(fixturePrivateDir(name), priv, { recursive: true });
  // The fixture copies lost notary's modes; restore them (0700 dir, 0600 files).
  fs.chmodSync(priv, 0o700);
  for (const f of fs.readdirSync(priv)) fs.chmodSync(path.join(priv, f), 0o600);
  return dir;
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? [p, ...walk(p)] : [p];
  });
}

/**
 * The audit run after every store operation in these tests: no unencrypted
 * private key anywhere under `trustDir` (except files the test planted on
 * purpose), no temp-file leftovers, key files 0600 and directories 0700
 * under private/.
 */
export function assertTrustDirSafe(trustDir: string, planted: readonly string[] = []): void {
  for (const p of walk(trustDir)) {
    const st = fs.statSync(p);
    const underPrivate = path.relative(path.join(trustDir, 'private'), p).split(path.sep)[0] !== '..';
    if (st.isDirectory()) {
      if (underPrivate && !planted.includes(p)) assert.equal(st.mode & 0o777, 0o700, `${p} should be 0700`);
      continue;
    }
    assert.ok(!p.endsWith('.tmp'), `temp file left behind: ${p}`);
    if (planted.includes(p)) continue;
    if (p.endsWith('.key')) assert.equal(st.mode & 0o777, 0o600, `${p} should be 0600`);
    const text = fs.readFileSync(p, 'latin1');
    for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----\n((?:[^\n]+\n)*)/g)) {
      const type = m[1]!;
      const encrypted = type === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(m[2]!);
      assert.ok(encrypted, `${p} holds an unencrypted ${type}`);
    }
  }
}

export async function assertRejectsCode(p: Promise<unknown>, code: ErrorCode, messageIncludes?: string | RegExp): Promise<KeyStoreError | Error> {
  let caught: unknown;
  await p.then(
    () => assert.fail(`expected rejection with ${code}`),
    (e: unknown) => {
      caught = e;
    },
  );
  const err = caught as KeyStoreError;
  assert.equal(err.code, code, `expected ${code}, got ${String(err.code)}: ${err.message}`);
  if (typeof messageIncludes === 'string') assert.ok(err.message.includes(messageIncludes), `message ${JSON.stringify(err.message)} lacks ${messageIncludes}`);
  else if (messageIncludes !== undefined) assert.match(err.message, messageIncludes);
  return err;
}

export function isKeyStoreError(e: unknown, code: ErrorCode): boolean {
  return e instanceof KeyStoreError && e.code === code;
}

/** Verifies a Signet signature the way Notary's verifiers do, using only node:crypto. */
export function verifyNotarySignature(publicKey: KeyObject, data: Buffer, sig: Signature): boolean {
  const pub = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  switch (sig.method) {
    case 'ecdsa':
      return verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig.sig);
    case 'eddsa':
      return verify(null, data, pub, sig.sig);
    case 'rsapss':
      return verify('sha256', data, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig.sig);
    default:
      return false;
  }
}

export const HAS_NOTARY = (() => {
  try {
    execFileSync('notary', ['version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
})();

const execFileAsync = promisify(execFile);

/** Runs the real notary CLI with only the given passphrase variables set; stdin is not a TTY. */
export async function notary(trustDir: string, args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync('notary', ['-d', trustDir, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: trustDir, ...env },
    timeout: 60_000,
  });
}

export function openssl(args: string[], input?: Buffer | string): Buffer {
  return execFileSync('openssl', args, { input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
}

/** PEM text with Notary's role/gun header lines (and the blank line) removed, for node:crypto and openssl. */
export function stripPemHeaders(pem: string): string {
  return pem.replace(/^(-----BEGIN [^\n]+-----\n)(?:[^\n]*: [^\n]*\n)+\n/, '$1');
}

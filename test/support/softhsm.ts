// SPDX-License-Identifier: Apache-2.0
// Throw-away SoftHSM2 tokens for tests: a temporary token directory and
// softhsm2.conf, pointed at through SOFTHSM2_CONF in this process's
// environment (SoftHSM reads it at C_Initialize, and child processes inherit
// it). SoftHSM sees tokens created after its initialisation only once every
// user has released the module, so tests create their tokens first.
// `softhsmSkip()` names what is missing (softhsm2 or the pkcs11js addon) so a
// test can skip with that reason instead of failing on a bare machine.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const MODULE_CANDIDATES = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'];

/** The SoftHSM2 PKCS#11 module on this machine, or undefined. */
export const SOFTHSM_MODULE: string | undefined = MODULE_CANDIDATES.find((p) => fs.existsSync(p));

function hasUtil(): boolean {
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function hasAddon(): boolean {
  try {
    createRequire(import.meta.url)('pkcs11js');
    return true;
  } catch {
    return false;
  }
}

/** Why token tests cannot run here, or false when they can (node:test's `skip` option takes either). */
export function softhsmSkip(): string | false {
  if (SOFTHSM_MODULE === undefined || !hasUtil()) return 'softhsm2 is not installed (apt-get install softhsm2; .ci/run does it)';
  if (!hasAddon()) return 'the optional pkcs11js addon is not built (npm ci with python3, make and g++)';
  return false;
}

export interface TestToken {
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
}

export interface SoftHsm {
  readonly dir: string;
  readonly conf: string;
  readonly modulePath: string;
  /** Initialises a new token in the next free slot. */
  createToken(label: string, pin?: string, soPin?: string): TestToken;
  /** Deletes the token directory (call after every store is closed). */
  remove(): void;
}

/** A SoftHSM2 setup in a new temporary directory; sets process.env.SOFTHSM2_CONF. */
export function createSoftHsm(): SoftHsm {
  if (SOFTHSM_MODULE === undefined) throw new Error('softhsm2 is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-softhsm-'));
  const tokens = path.join(dir, 'tokens');
  fs.mkdirSync(tokens);
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  const modulePath = SOFTHSM_MODULE;
  return {
    dir,
    conf,
    modulePath,
    createToken(label, pin = '123456', soPin = '12345678') {
      execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'ignore' });
      return { label, pin, soPin };
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// SPDX-License-Identifier: Apache-2.0
// Shared by the token tests: stores on a SoftHSM2 token that are closed when
// the test file ends, a scratch file store to delegate to, a fault-injecting
// binding over the real module, and a "verifies as Notary ecdsa" check.
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TokenError, type ErrorCode } from '../../../shared/errors.js';
import type { PublicKey, Signature } from '../../../shared/tuf/model.js';
import { FileKeyStore } from '../../../keys/file-store.js';
import { constantPassphraseRetriever } from '../../../keys/passphrase.js';
import { openPkcs11Module, type Pkcs11Binding } from '../../../keys/pkcs11/binding.js';
import { envPinSource, type PinSource } from '../../../keys/pkcs11/pin.js';
import { Pkcs11TokenStore, type Pkcs11TokenStoreOptions } from '../../../keys/pkcs11/token-store.js';
import { TokenSession, type TokenSelector } from '../../../keys/pkcs11/token-session.js';
import { toTokenError } from '../../../keys/pkcs11/token-errors.js';

const open: Array<{ close(): Promise<void> }> = [];

/** Closes every session these helpers opened (call in `after`, before removing the SoftHSM dir). */
export async function closeAll(): Promise<void> {
  for (const s of open.splice(0)) await s.close();
}

export interface StoreSetup {
  readonly modulePath: string;
  readonly selector?: TokenSelector;
  readonly pin?: string | PinSource;
  readonly openModule?: (p: string) => Pkcs11Binding;
  readonly notify?: (m: string) => void;
}

export function tokenSession(setup: StoreSetup): TokenSession {
  const pin = typeof setup.pin === 'function' ? setup.pin : envPinSource(setup.pin === undefined ? {} : { SIGNET_PKCS11_PIN: setup.pin });
  const session = new TokenSession({
    modulePath: setup.modulePath,
    selector: setup.selector ?? {},
    pin,
    ...(setup.openModule === undefined ? {} : { openModule: setup.openModule }),
    ...(setup.notify === undefined ? {} : { notify: setup.notify }),
  });
  open.push(session);
  return session;
}

export function tokenStore(setup: StoreSetup, options: Omit<Pkcs11TokenStoreOptions, 'session'> = {}): Pkcs11TokenStore {
  return new Pkcs11TokenStore({ session: tokenSession(setup), notify: () => undefined, ...options });
}

/** A scratch trust_dir file store whose passphrase is `pass`. */
export function fileStore(pass = 'file-store-pass'): FileKeyStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signet-token-files-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return new FileKeyStore(dir, { retriever: constantPassphraseRetriever(pass) });
}

/** Asserts `sig` is a Notary `ecdsa` signature (raw r‖s, SHA-256) of `data` by `key`. */
export function assertNotaryEcdsa(sig: Signature, data: Buffer, key: PublicKey): void {
  assert.equal(sig.method, 'ecdsa');
  assert.equal(sig.keyId, key.id);
  assert.equal(sig.sig.length, 64, 'raw r‖s of P-256');
  const pub = createPublicKey({ key: key.spki!, format: 'der', type: 'spki' });
  assert.ok(verify('sha256', data, { key: pub, dsaEncoding: 'ieee-p1363' }, sig.sig), 'signature verifies as ieee-p1363 over SHA-256');
}

/** Expects `p` to reject with a TokenError of `code` (and `ckr` when given). */
export async function rejectsToken(p: Promise<unknown>, code: ErrorCode, ckr?: string, message?: RegExp): Promise<TokenError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof TokenError, `expected a TokenError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (ckr !== undefined) assert.equal(caught.ckr, ckr);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

/** A module error as the addon raises it (message = CKR name). */
export function ckr(name: string, action = 'test'): TokenError {
  return toTokenError(new Error(name), action, 'test-module');
}

/** The real module with some calls replaced: faults that SoftHSM cannot produce (locked PIN, full token). */
export function faultyModule(overrides: (real: Pkcs11Binding) => Partial<Pkcs11Binding>): (p: string) => Pkcs11Binding {
  return (p) => {
    const real = openPkcs11Module(p);
    return { ...real, ...overrides(real) };
  };
}

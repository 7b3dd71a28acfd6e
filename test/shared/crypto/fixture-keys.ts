// SPDX-License-Identifier: Apache-2.0
// Test helpers for shared/crypto: the notary fixture files with their keys,
// fixture private keys, and a throw-away openssl working directory.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeNotaryPublicKey } from '../../../shared/codec/notary-keys.js';
import { canonicalize } from '../../../shared/json/canonical.js';
import type { JSONObject } from '../../../shared/json/types.js';
import type { PublicKey, Signature } from '../../../shared/tuf/model.js';
import { fixture } from '../../support/paths.js';

interface WireKey {
  keytype: string;
  keyval: { public: string };
}
interface WireFile {
  signed: JSONObject;
  signatures: { keyid: string; method: string; sig: string }[];
}

export const readServerFile = (name: string): WireFile => JSON.parse(readFileSync(fixture('server', name), 'utf8')) as WireFile;

/** Every key of the fixture repository (root keys and delegation keys), by key ID. */
export function fixtureKeys(): Map<string, PublicKey> {
  const keys = new Map<string, PublicKey>();
  const root = readServerFile('root.json').signed as unknown as { keys: Record<string, WireKey> };
  const targets = readServerFile('targets.json').signed as unknown as { delegations: { keys: Record<string, WireKey> } };
  for (const [id, k] of [...Object.entries(root.keys), ...Object.entries(targets.delegations.keys)]) {
    keys.set(id, makeNotaryPublicKey(k.keytype, k.keyval.public));
  }
  return keys;
}

export interface SignedFixture {
  readonly file: string;
  readonly message: Buffer;
  readonly signature: Signature;
  readonly key: PublicKey;
}

/** Each signature of each fixture file with its key and the canonical bytes it covers. */
export function fixtureSignatures(): SignedFixture[] {
  const keys = fixtureKeys();
  const out: SignedFixture[] = [];
  for (const file of ['root.json', '1.root.json', 'targets.json', 'snapshot.json', 'timestamp.json', 'targets/releases.json', 'targets/jenkins.json']) {
    const wire = readServerFile(file);
    for (const s of wire.signatures) {
      const key = keys.get(s.keyid);
      if (key === undefined) throw new Error(`fixture ${file}: no key ${s.keyid}`);
      out.push({ file, message: canonicalize(wire.signed), signature: { keyId: s.keyid, method: s.method, sig: Buffer.from(s.sig, 'base64') }, key });
    }
  }
  return out;
}

/** A notary key file: drop its `role:`/`gun:` PEM headers, then decrypt it (fixtures README). */
export function readNotaryKeyFile(relative: string, passphrase: string): KeyObject {
  const pem = readFileSync(fixture(relative), 'utf8')
    .split('\n')
    .filter((line) => !/^[A-Za-z-]+: /.test(line))
    .join('\n')
    .replace(/-----\n\n/, '-----\n');
  return createPrivateKey({ key: pem, format: 'pem', passphrase });
}

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'signet-crypto-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A self-signed certificate made by openssl `req -x509` in `dir`; returns its PEM text. */
export function opensslCertificate(dir: string, name: string, opts: { subject: string; key?: string; days?: number; digest?: string; ext?: string[]; extra?: string[] }): string {
  const out = path.join(dir, `${name}.crt`);
  const args = ['req', '-x509', '-newkey', opts.key ?? 'ec', ...(opts.key === undefined ? ['-pkeyopt', 'ec_paramgen_curve:P-256'] : [])];
  args.push('-nodes', '-keyout', path.join(dir, `${name}.key`), '-out', out, '-days', String(opts.days ?? 30), '-subj', opts.subject);
  if (opts.digest !== '') args.push(`-${opts.digest ?? 'sha256'}`); // '' for Ed25519, which takes no digest
  for (const e of opts.ext ?? []) args.push('-addext', e);
  args.push(...(opts.extra ?? []));
  openssl(...args);
  return readFileSync(out, 'utf8');
}

// SPDX-License-Identifier: Apache-2.0
// A throw-away PKI made with openssl for token-auth tests (root CA,
// intermediate, leaves, a rogue self-signed issuer, SHA-1/MD5-signed and
// pathLenConstraint cases, a 1024-bit RSA leaf) and a JWT minter that
// signs the way the token servers notary works with do (JWS compact, x5c).

import { execFileSync } from 'node:child_process';
import { createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface Issuer {
  readonly cert: X509Certificate;
  readonly certPem: string;
  readonly key: KeyObject;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function load(dir: string, name: string): Issuer {
  const certPem = fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8');
  return { cert: new X509Certificate(certPem), certPem, key: createPrivateKey(fs.readFileSync(path.join(dir, `${name}.key`))) };
}

const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,digitalSignature\n';
const LEAF_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n';
// No keyUsage: only the CA:FALSE basic constraint says this certificate may not issue others.
const NOT_CA_EXT = 'basicConstraints=critical,CA:FALSE\n';
const PATHLEN0_CA = 'basicConstraints=critical,CA:TRUE,pathlen:0';

const NAMES = [
  'root', 'intermediate', 'leaf', 'direct', 'notCa', 'underNotCa', 'rogue', 'rsa', 'shortLived', 'shortIntermediate', 'underShortIntermediate', 'shortRoot', 'underShortRoot',
  'sha1Leaf', 'sha1Root', 'underSha1Root', 'rsaRoot', 'md5Intermediate', 'underMd5Intermediate', 'rsa1024',
  'pathLen0Root', 'underPathLen0Root', 'caUnderPathLen0Root', 'underCaUnderPathLen0Root',
  'pathLen0Intermediate', 'underPathLen0Intermediate', 'caUnderPathLen0Intermediate', 'underCaUnderPathLen0Intermediate',
] as const;
type Name = (typeof NAMES)[number];

/** Make every certificate under `dir` ("short" ones are valid for one day only). */
export function makePki(dir: string): Record<Name, Issuer> {
  fs.writeFileSync(path.join(dir, 'ca.ext'), CA_EXT);
  fs.writeFileSync(path.join(dir, 'leaf.ext'), LEAF_EXT);
  fs.writeFileSync(path.join(dir, 'notca.ext'), NOT_CA_EXT);
  fs.writeFileSync(path.join(dir, 'ca-pathlen0.ext'), CA_EXT.replace('CA:TRUE', 'CA:TRUE,pathlen:0'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const rsa2048 = ['-newkey', 'rsa:2048', '-nodes'];
  const selfSigned = (name: string, ext: string, days = '30', keyArgs = ec, digest = 'sha256'): void =>
    openssl(dir, 'req', '-x509', ...keyArgs, `-${digest}`, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', days, '-subj', `/CN=${name}`, '-addext', ext.split('\n')[0]!);
  const signedBy = (name: string, issuer: string, ext: string, keyArgs = ec, days = '30', digest = 'sha256'): void => {
    openssl(dir, 'req', ...keyArgs, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl(dir, 'x509', '-req', `-${digest}`, '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', days, '-extfile', ext);
  };
  selfSigned('root', 'basicConstraints=critical,CA:TRUE');
  selfSigned('rogue', 'basicConstraints=critical,CA:TRUE');
  selfSigned('direct', 'basicConstraints=critical,CA:FALSE');
  signedBy('intermediate', 'root', 'ca.ext');
  signedBy('leaf', 'intermediate', 'leaf.ext');
  signedBy('notCa', 'root', 'notca.ext');
  signedBy('underNotCa', 'notCa', 'leaf.ext');
  signedBy('rsa', 'root', 'leaf.ext', rsa2048);
  signedBy('shortLived', 'root', 'leaf.ext', ec, '1');
  signedBy('shortIntermediate', 'root', 'ca.ext', ec, '1');
  signedBy('underShortIntermediate', 'shortIntermediate', 'leaf.ext');
  selfSigned('shortRoot', 'basicConstraints=critical,CA:TRUE', '1');
  signedBy('underShortRoot', 'shortRoot', 'leaf.ext');
  signedBy('sha1Leaf', 'root', 'leaf.ext', ec, '30', 'sha1');
  selfSigned('sha1Root', 'basicConstraints=critical,CA:TRUE', '30', ec, 'sha1');
  signedBy('underSha1Root', 'sha1Root', 'leaf.ext');
  selfSigned('rsaRoot', 'basicConstraints=critical,CA:TRUE', '30', rsa2048);
  signedBy('md5Intermediate', 'rsaRoot', 'ca.ext', ec, '30', 'md5');
  signedBy('underMd5Intermediate', 'md5Intermediate', 'leaf.ext');
  signedBy('rsa1024', 'root', 'leaf.ext', ['-newkey', 'rsa:1024', '-nodes']);
  selfSigned('pathLen0Root', PATHLEN0_CA);
  signedBy('underPathLen0Root', 'pathLen0Root', 'leaf.ext');
  signedBy('caUnderPathLen0Root', 'pathLen0Root', 'ca.ext');
  signedBy('underCaUnderPathLen0Root', 'caUnderPathLen0Root', 'leaf.ext');
  signedBy('pathLen0Intermediate', 'root', 'ca-pathlen0.ext');
  signedBy('underPathLen0Intermediate', 'pathLen0Intermediate', 'leaf.ext');
  signedBy('caUnderPathLen0Intermediate', 'pathLen0Intermediate', 'ca.ext');
  signedBy('underCaUnderPathLen0Intermediate', 'caUnderPathLen0Intermediate', 'leaf.ext');
  return Object.fromEntries(NAMES.map((n) => [n, load(dir, n)])) as Record<Name, Issuer>;
}

export interface MintOptions {
  readonly signer: KeyObject;
  readonly alg?: string;
  /** Certificates for `x5c`, leaf first; omitted when empty. */
  readonly chain?: readonly X509Certificate[];
  readonly header?: Record<string, unknown>;
  readonly claims?: Record<string, unknown>;
  readonly now?: number;
}

const b64u = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** A compact JWS as docker/distribution token servers issue them. */
export function mintToken(access: unknown[], options: MintOptions): string {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const alg = options.alg ?? 'ES256';
  const header: Record<string, unknown> = { typ: 'JWT', alg, ...(options.chain && options.chain.length > 0 ? { x5c: options.chain.map((c) => c.raw.toString('base64')) } : {}), ...options.header };
  const claims = { iss: 'auth.example.com', sub: 'alice', aud: 'notary.example.com', exp: now + 300, nbf: now - 10, iat: now, jti: 'j1', access, ...options.claims };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  const hash = alg.endsWith('384') ? 'sha384' : alg.endsWith('512') ? 'sha512' : 'sha256';
  const sig = sign(hash, Buffer.from(input), alg.startsWith('ES') ? { key: options.signer, dsaEncoding: 'ieee-p1363' } : options.signer);
  return `${input}.${b64u(sig)}`;
}

export const repo = (name: string, ...actions: string[]): { type: string; name: string; actions: string[] } => ({ type: 'repository', name, actions });
export const catalog = { type: 'registry', name: 'catalog', actions: ['*'] };

// SPDX-License-Identifier: Apache-2.0
// `npm run bench:crypto`: signature verification throughput of shared/crypto
// next to bare node:crypto, plus @noble/ed25519 for comparison, plus the cost
// of loading a 10,000-target targets.json (parse + canonicalise + verify).
//
// Each case alternates rounds of the library call and the raw call so both
// see the same machine load; the figure is the median round. The raw call is
// the best a caller could do: a KeyObject and an options object built once.
// Runtime is bounded (about 15 s on two shared cores).

import { constants, createHash, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';
import * as noble from '@noble/ed25519';
import { notaryCodec } from '../shared/codec/notary.js';
import { publicKeyFromCertificatePem, publicKeyFromKeyObject } from '../shared/codec/notary-keys.js';
import { createKeyObjectSigner } from '../shared/crypto/sign.js';
import { verifySignature } from '../shared/crypto/verify.js';
import { certificateSignerFromKeyObject, createSelfSignedCertificate } from '../shared/crypto/x509.js';
import { canonicalize } from '../shared/json/canonical.js';
import type { JSONObject } from '../shared/json/types.js';
import type { PublicKey, Signature } from '../shared/tuf/model.js';

const ROUNDS = 9;
const ROUND_MS = 80;
// A message the size of a small targets.json body.
const MESSAGE = Buffer.from(JSON.stringify({ _type: 'Targets', targets: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`v1.0.${i}`, { length: 1000 + i, hashes: { sha256: 'x'.repeat(44) } }])) }));

/** Operations per second of `fn`, run for about `ms` milliseconds. */
function rate(fn: () => boolean, ms: number): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 32; i++) if (!fn()) throw new Error('benchmark verification failed');
    n += 32;
    now = process.hrtime.bigint();
  }
  return (n * 1e9) / Number(now - start);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Comparison {
  readonly a: number;
  readonly b: number;
  /** Median of the per-round ratios a/b: paired rounds cancel load drift. */
  readonly ratio: number;
}

/** Rates of `a` and `b` in paired rounds, alternating which goes first (ABBA). */
function compare(a: () => boolean, b: () => boolean): Comparison {
  rate(a, 30);
  rate(b, 30); // warm-up
  const ra: number[] = [];
  const rb: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      ra.push(rate(a, ROUND_MS));
      rb.push(rate(b, ROUND_MS));
    } else {
      rb.push(rate(b, ROUND_MS));
      ra.push(rate(a, ROUND_MS));
    }
  }
  return { a: median(ra), b: median(rb), ratio: median(ra.map((x, i) => x / rb[i]!)) };
}

interface Case {
  readonly name: string;
  readonly key: PublicKey;
  readonly signature: Signature;
  readonly raw: () => boolean;
}

async function makeCase(name: string, privateKey: KeyObject, key: PublicKey, rawOptions: VerifyKeyObjectInput, hash: string | null): Promise<Case> {
  const signature = await createKeyObjectSigner(privateKey, key).sign(MESSAGE);
  const sig = signature.sig;
  return { name, key, signature, raw: () => cryptoVerify(hash, MESSAGE, rawOptions, sig) };
}

async function certificateKey(privateKey: KeyObject, publicKey: KeyObject): Promise<PublicKey> {
  const pem = await createSelfSignedCertificate({ commonName: 'example.com/bench', publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }), sign: certificateSignerFromKeyObject(privateKey) });
  return publicKeyFromCertificatePem(pem);
}

async function verifyCases(): Promise<Case[]> {
  const ed = generateKeyPairSync('ed25519');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p1363 = (k: KeyObject): VerifyKeyObjectInput => ({ key: k, dsaEncoding: 'ieee-p1363' });
  const pss = (k: KeyObject): VerifyKeyObjectInput => ({ key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  return [
    await makeCase('ed25519 (eddsa)', ed.privateKey, publicKeyFromKeyObject(ed.publicKey), { key: ed.publicKey }, null),
    await makeCase('ecdsa P-256 (ecdsa)', ec.privateKey, publicKeyFromKeyObject(ec.publicKey), p1363(ec.publicKey), 'sha256'),
    await makeCase('rsa-2048 (rsapss)', rsa.privateKey, publicKeyFromKeyObject(rsa.publicKey), pss(rsa.publicKey), 'sha256'),
    await makeCase('ecdsa-x509 (ecdsa)', ec.privateKey, await certificateKey(ec.privateKey, ec.publicKey), p1363(ec.publicKey), 'sha256'),
    await makeCase('rsa-x509 (rsapss)', rsa.privateKey, await certificateKey(rsa.privateKey, rsa.publicKey), pss(rsa.publicKey), 'sha256'),
  ];
}

function nobleRate(): Comparison {
  noble.hashes.sha512 = (m: Uint8Array) => createHash('sha512').update(m).digest();
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const sig = cryptoSign(null, MESSAGE, privateKey);
  const options = { key: publicKey };
  return compare(
    () => noble.verify(sig, MESSAGE, raw),
    () => cryptoVerify(null, MESSAGE, options, sig),
  );
}

/** Build a targets.json with `count` targets signed by a fresh ecdsa key. */
async function bigTargets(count: number): Promise<{ bytes: Buffer; key: PublicKey }> {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = publicKeyFromKeyObject(ec.publicKey);
  const targets: JSONObject = {};
  for (let i = 0; i < count; i++) {
    const digest = createHash('sha256').update(`target ${i}`).digest('base64');
    targets[`releases/app-${i}.tar.gz`] = { hashes: { sha256: digest }, length: 1000 + i };
  }
  const signedTree: JSONObject = { _type: 'Targets', delegations: { keys: {}, roles: [] }, expires: '2036-11-19T18:59:50.123456789Z', targets, version: 7 };
  const signature = await createKeyObjectSigner(ec.privateKey, key).sign(canonicalize(signedTree));
  return { bytes: notaryCodec.encode(signedTree, [signature]), key };
}

interface LoadTimes {
  readonly jsonParse: number;
  readonly parse: number;
  readonly canonicalise: number;
  readonly verify: number;
}

/** One load: codec parse (which canonicalises `signed` once) then verify; plus reference timings. */
function loadTargets(bytes: Buffer, key: PublicKey): LoadTimes {
  const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6;
  let t = process.hrtime.bigint();
  const envelope = notaryCodec.parse(bytes, 'targets');
  const signedBytes = envelope.signedBytes ?? notaryCodec.signedBytes(envelope.signedTree);
  const parse = ms(t);
  t = process.hrtime.bigint();
  const sig = envelope.signatures[0];
  if (sig === undefined || !verifySignature(key, sig, signedBytes)) throw new Error('targets.json did not verify');
  const verify = ms(t);
  // References, not part of the load: bare JSON.parse, and canonicalisation alone.
  t = process.hrtime.bigint();
  JSON.parse(bytes.toString('utf8'));
  const jsonParse = ms(t);
  t = process.hrtime.bigint();
  canonicalize(envelope.signedTree);
  const canonicalise = ms(t);
  return { jsonParse, parse, canonicalise, verify };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pad = (s: string, n: number): string => s.padEnd(n);
const lpad = (s: string, n: number): string => s.padStart(n);

async function main(): Promise<void> {
  const started = Date.now();
  console.log(`node ${process.version}, ${ROUNDS} paired rounds of ${ROUND_MS} ms: median ops/s, median paired ratio`);
  console.log(`${pad('verify', 22)}${lpad('signet', 10)}${lpad('raw', 10)}${lpad('signet/raw', 12)}`);
  for (const c of await verifyCases()) {
    const r = compare(() => verifySignature(c.key, c.signature, MESSAGE), c.raw);
    console.log(`${pad(c.name, 22)}${lpad(fmt(r.a), 10)}${lpad(fmt(r.b), 10)}${lpad(`${(r.ratio * 100).toFixed(1)}%`, 12)}`);
  }
  const n = nobleRate();
  console.log(`${pad('@noble/ed25519', 22)}${lpad(fmt(n.a), 10)}${lpad(fmt(n.b), 10)}${lpad(`${(n.ratio * 100).toFixed(1)}%`, 12)}  (noble vs node:crypto)`);

  const { bytes, key } = await bigTargets(10_000);
  const runs: LoadTimes[] = [];
  for (let i = 0; i < 7; i++) runs.push(loadTargets(bytes, key));
  const m = (f: (l: LoadTimes) => number): string => median(runs.map(f)).toFixed(1);
  console.log(`targets.json with 10,000 targets (${fmt(bytes.length)} bytes, ecdsa), median of 7 loads:`);
  console.log(`  codec parse incl. canonicalise ${m((l) => l.parse)} ms + verify ${m((l) => l.verify)} ms = ${m((l) => l.parse + l.verify)} ms`);
  console.log(`  for reference: JSON.parse alone ${m((l) => l.jsonParse)} ms, canonicalise alone ${m((l) => l.canonicalise)} ms`);
  console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await main();

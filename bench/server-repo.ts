// SPDX-License-Identifier: Apache-2.0
// Repositories for `npm run bench:server`, made the way the notary CLI makes
// them (root = P-256 key behind a self-signed certificate with CN = GUN,
// targets and snapshot = client-held P-256 keys, timestamp = the server's key
// from GET timestamp.key) and written in Go's byte layout by the notary codec,
// so the same bytes are accepted by signet-server and notary-server.
//
// Targets versions do not depend on the server and are signed once per GUN;
// root (it lists the server's timestamp key) and hence every snapshot are
// signed per server. Everything is signed before a timed phase starts: the
// load generator only replays ready-made request bodies.

import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { notaryCodec } from '../shared/codec/notary.js';
import { publicKeyFromCertificatePem, publicKeyFromKeyObject } from '../shared/codec/notary-keys.js';
import { signEnvelope } from '../shared/codec/sign-envelope.js';
import { createKeyObjectSigner } from '../shared/crypto/sign.js';
import { certificateSignerFromKeyObject, createSelfSignedCertificate } from '../shared/crypto/x509.js';
import { expiresAfter } from '../shared/time.js';
import { roleMetaFromBytes } from '../shared/tuf/file-meta.js';
import type { FileMeta, PublicKey, RoleKeys, Signed, Signer, TargetFile } from '../shared/tuf/model.js';
import { buildMultipart } from '../client/remote.js';

const YEAR_S = 365 * 24 * 3600;
const DAY_MS = 24 * 3600 * 1000;

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: PublicKey;
  readonly signer: Signer;
}

export function ecdsaKey(): KeyPair {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = publicKeyFromKeyObject(privateKey);
  return { privateKey, publicKey, signer: createKeyObjectSigner(privateKey, publicKey) };
}

/** A P-256 key in a self-signed certificate with CN `cn` (a root key when cn is the GUN). */
export async function rootCertificateKey(cn: string, now: Date): Promise<KeyPair> {
  const { privateKey, publicKey: spkiKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = await createSelfSignedCertificate({
    commonName: cn,
    publicKeySpki: spkiKey.export({ type: 'spki', format: 'der' }),
    notBefore: new Date(now.getTime() - DAY_MS),
    notAfter: new Date(now.getTime() + 3650 * DAY_MS),
    sign: certificateSignerFromKeyObject(privateKey),
  });
  const publicKey = publicKeyFromCertificatePem(pem);
  return { privateKey, publicKey, signer: createKeyObjectSigner(privateKey, publicKey) };
}

export async function sign(signed: Signed, signer: Signer): Promise<Buffer> {
  return (await signEnvelope(notaryCodec, signed, [signer])).raw;
}

/** A target entry for made-up content (only its hashes and length travel). */
export function targetFor(content: string): TargetFile {
  const meta = roleMetaFromBytes(Buffer.from(content, 'utf8'));
  return { length: meta.length ?? 0, hashes: meta.hashes };
}

/** A publish request ready to send: the multipart body and its content type. */
export interface PublishBody {
  readonly body: Buffer;
  readonly contentType: string;
}

/** One GUN's client side: keys and the targets versions signed so far (shared by every server). */
export class BenchGun {
  readonly #targets = new Map<number, Buffer>();

  private constructor(
    readonly gun: string,
    readonly now: Date,
    private readonly root: KeyPair,
    private readonly targets: KeyPair,
    private readonly snapshot: KeyPair,
    /** Targets of version 1 (the big GUN: 10,000 of them); later versions hold `release` only. */
    private readonly initialTargets: ReadonlyMap<string, TargetFile>,
  ) {}

  static async create(gun: string, options: { now?: Date; targetCount?: number } = {}): Promise<BenchGun> {
    const now = options.now ?? new Date();
    const initial = new Map<string, TargetFile>();
    for (let i = 0; i < (options.targetCount ?? 1); i++) initial.set(`pkg/${i % 100}/artifact-${i}.tar.gz`, targetFor(`${gun} artifact ${i}`));
    return new BenchGun(gun, now, await rootCertificateKey(gun, now), ecdsaKey(), ecdsaKey(), initial);
  }

  /** Root v1 listing the server's timestamp key (different on every server). */
  signRoot(timestampKey: PublicKey): Promise<Buffer> {
    const keys = new Map<string, PublicKey>();
    const roles = new Map<string, RoleKeys>();
    const byRole: [string, PublicKey][] = [
      ['root', this.root.publicKey],
      ['targets', this.targets.publicKey],
      ['snapshot', this.snapshot.publicKey],
      ['timestamp', timestampKey],
    ];
    for (const [role, key] of byRole) {
      keys.set(key.id, key);
      roles.set(role, { keyIds: [key.id], threshold: 1 });
    }
    return sign({ type: 'root', version: 1, expires: expiresAfter(this.now, 10 * YEAR_S), keys, roles, consistentSnapshot: false }, this.root.signer);
  }

  /** Targets of `version`: the initial set for 1, one changing `release` entry after that. Memoised. */
  async targetsVersion(version: number): Promise<Buffer> {
    const known = this.#targets.get(version);
    if (known !== undefined) return known;
    const targets = version === 1 ? this.initialTargets : new Map([['release', targetFor(`${this.gun} release ${version}`)]]);
    const bytes = await sign({ type: 'targets', version, expires: expiresAfter(this.now, 3 * YEAR_S), targets, delegations: { keys: new Map(), roles: [] } }, this.targets.signer);
    this.#targets.set(version, bytes);
    return bytes;
  }

  signSnapshot(version: number, root: Buffer, targets: Buffer): Promise<Buffer> {
    const meta = new Map<string, FileMeta>([
      ['root', roleMetaFromBytes(root)],
      ['targets', roleMetaFromBytes(targets)],
    ]);
    return sign({ type: 'snapshot', version, expires: expiresAfter(this.now, 3 * YEAR_S), meta }, this.snapshot.signer);
  }

  /** The first publish: root, targets and snapshot v1 (what `notary init` + publish sends). */
  async initialPublish(timestampKey: PublicKey): Promise<{ root: Buffer; targets: Buffer; body: PublishBody }> {
    const root = await this.signRoot(timestampKey);
    const targets = await this.targetsVersion(1);
    const snapshot = await this.signSnapshot(1, root, targets);
    return { root, targets, body: multipart([['root', root], ['targets', targets], ['snapshot', snapshot]]) };
  }

  /** Publishes of versions first..first+count-1: a new targets and snapshot each, signed now, in parallel batches. */
  async publishSequence(root: Buffer, first: number, count: number): Promise<PublishBody[]> {
    const out: PublishBody[] = [];
    const BATCH = 64;
    for (let start = first; start < first + count; start += BATCH) {
      const versions = Array.from({ length: Math.min(BATCH, first + count - start) }, (_, i) => start + i);
      const bodies = await Promise.all(
        versions.map(async (v) => {
          const targets = await this.targetsVersion(v);
          const snapshot = await this.signSnapshot(v, root, targets);
          return multipart([['targets', targets], ['snapshot', snapshot]]);
        }),
      );
      out.push(...bodies);
    }
    return out;
  }
}

function multipart(parts: [string, Buffer][]): PublishBody {
  return buildMultipart(new Map(parts), randomBytes(16).toString('hex'));
}

export function tufPath(gun: string, file: string): string {
  return `/v2/${gun}/_trust/tuf/${file}`;
}

/** GET <gun>/_trust/tuf/timestamp.key: the server creates (or returns) its timestamp key. */
export async function fetchTimestampKey(baseUrl: string, gun: string): Promise<PublicKey> {
  const res = await fetch(baseUrl + tufPath(gun, 'timestamp.key'));
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${gun} timestamp.key answered ${res.status}: ${text.slice(0, 300)}`);
  return notaryCodec.parseKey(JSON.parse(text), 'timestamp.key');
}

export async function postPublish(baseUrl: string, gun: string, publish: PublishBody): Promise<void> {
  const res = await fetch(baseUrl + tufPath(gun, ''), { method: 'POST', headers: { 'Content-Type': publish.contentType }, body: publish.body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`publish to ${gun} answered ${res.status}: ${text.slice(0, 500)}`);
}

/** GET a path; the bytes when the status is 200. */
export async function getBytes(baseUrl: string, path: string): Promise<Buffer> {
  const res = await fetch(baseUrl + path);
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${body.toString('utf8', 0, 300)}`);
  return body;
}

// SPDX-License-Identifier: Apache-2.0
// `init`: create a repository locally, as notary's `init` does:
//   - the root key: the first root key already in the key store, else a new
//     ECDSA P-256 key; its self-signed certificate (CN = GUN, 10 years) is the
//     root role's key (`ecdsa-x509`);
//   - new ECDSA targets and snapshot keys; the timestamp key from the server;
//   - root v1, targets v1 and snapshot v1, signed and written to the cache.
// Publishing is `publish` (or `-p`). Everything that can fail without side
// effects happens first: the server is asked whether the GUN exists and for
// its timestamp key, the existing root key is unlocked, and every new key's
// passphrase is obtained, before any key file or metadata is written; so a
// missing passphrase in CI leaves the trust directory untouched.

import { RemoteError, UsageError } from '../shared/errors.js';
import { notaryCodec } from '../shared/codec/notary.js';
import { canonicalKeyId, publicKeyFromCertificatePem } from '../shared/codec/notary-keys.js';
import { createSelfSignedCertificate, p1363ToDer } from '../shared/crypto/index.js';
import { parseJson } from '../shared/json/parse.js';
import type { PublicKey, Signer } from '../shared/tuf/model.js';
import { CryptoService, FileKeyStore, type KeyStore, type PassphraseRetriever } from '../keys/index.js';
import { newKeyNeedsPassphrase } from '../keys/pkcs11/index.js';
import type { MetadataCache } from './cache.js';
import { roleMetaFromBytes } from '../shared/tuf/file-meta.js';
import { newRoot, newTargets, nextSnapshot, signMetadata } from './metadata.js';
import type { NotaryRemote } from './remote.js';

export interface InitContext {
  readonly gun: string;
  readonly trustDir: string;
  readonly remote: NotaryRemote;
  readonly cache: MetadataCache;
  readonly retriever: PassphraseRetriever;
  readonly now: Date;
  /** The key stores around the file store (a PKCS#11 token first: the new root key then goes on it). */
  readonly keyStores?: (files: FileKeyStore) => KeyStore[];
}

export interface InitResult {
  /** Canonical ID of the root key used. */
  readonly rootKeyId: string;
  readonly rootKeyCreated: boolean;
  readonly rootCertificateKeyId: string;
}

async function existingRootKey(stores: readonly KeyStore[]): Promise<string | undefined> {
  for (const store of stores) {
    const roots = (await store.list()).filter((k) => k.role === 'root' && k.problem === undefined);
    if (roots.length > 0) return roots.map((k) => k.keyId).sort()[0];
  }
  return undefined;
}

async function certificateKey(gun: string, signer: Signer, now: Date): Promise<PublicKey> {
  if (signer.publicKey.spki === null) throw new UsageError('the root key has no usable public key');
  const pem = await createSelfSignedCertificate({
    commonName: gun,
    publicKeySpki: signer.publicKey.spki,
    notBefore: now,
    // Signer: ECDSA r‖s over SHA-256; a certificate wants the DER form of the same signature.
    sign: async (tbs) => p1363ToDer((await signer.sign(tbs)).sig),
  });
  return publicKeyFromCertificatePem(pem);
}

/**
 * Create the repository's keys and initial metadata in the trust directory.
 * @throws {UsageError} when the server already has trust data for the GUN.
 * @throws {KeyStoreError} PASSPHRASE_REQUIRED when a passphrase cannot be obtained (nothing is written then).
 * @throws {RemoteError} when the server cannot be reached or gives no timestamp key.
 */
export async function initRepository(ctx: InitContext): Promise<InitResult> {
  const { gun } = ctx;
  try {
    await ctx.remote.getRole('root');
    throw new UsageError(`${gun} already exists on the server; use \`signet list ${gun}\` or pick another GUN`);
  } catch (e) {
    if (!(e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND')) throw e;
  }
  const timestampKey = notaryCodec.parseKey(parseJson(await ctx.remote.getKey('timestamp'), 'timestamp key'), 'timestamp.key');

  // Obtain every new passphrase up front, so that nothing is written without all of them.
  const stores = (retriever: PassphraseRetriever): KeyStore[] => {
    const files = new FileKeyStore(ctx.trustDir, { retriever });
    return ctx.keyStores?.(files) ?? [files];
  };
  const probe = stores(ctx.retriever);
  const existingRoot = await existingRootKey(probe);
  const newRoles = existingRoot === undefined ? ['root', 'targets', 'snapshot'] : ['targets', 'snapshot'];
  const chosen = new Map<string, string>();
  for (const role of newRoles) {
    if (!(await newKeyNeedsPassphrase(probe, role))) continue; // made on a token
    chosen.set(role, await ctx.retriever({ keyName: 'new', role, ...(role === 'root' ? {} : { gun }), createNew: true, attempt: 0 }));
  }
  const retriever: PassphraseRetriever = async (req) => (req.createNew && chosen.has(req.role) ? chosen.get(req.role)! : ctx.retriever(req));
  const keys = new CryptoService(stores(retriever));

  // A failure after a key was made removes the keys this call made, so a retry does not pile up
  // unused keys (an existing root key stays).
  const created: string[] = [];
  const create = async (options: Parameters<CryptoService['create']>[0]): Promise<PublicKey> => {
    const key = await keys.create(options);
    created.push(key.id);
    return key;
  };
  try {
    return await initWithKeys(ctx, keys, existingRoot, create, timestampKey);
  } catch (error) {
    for (const id of created) await keys.remove(id).catch(() => undefined);
    throw error;
  }
}

async function initWithKeys(
  ctx: InitContext,
  keys: CryptoService,
  existingRoot: string | undefined,
  create: (options: Parameters<CryptoService['create']>[0]) => Promise<PublicKey>,
  timestampKey: PublicKey,
): Promise<InitResult> {
  const { gun } = ctx;
  // An existing root key is unlocked before anything new is created.
  const rootPlain = existingRoot === undefined ? await create({ role: 'root', algorithm: 'ecdsa' }) : undefined;
  const rootKeyId = existingRoot ?? rootPlain!.id;
  const plainSigner = await keys.getSigner(rootKeyId);
  const rootCert = await certificateKey(gun, plainSigner, ctx.now);
  const rootSigner = await keys.getSigner(canonicalKeyId(rootCert), rootCert);
  const targetsKey = await create({ role: 'targets', gun, algorithm: 'ecdsa' });
  const snapshotKey = await create({ role: 'snapshot', gun, algorithm: 'ecdsa' });

  const root = await signMetadata(newRoot({ root: [rootCert], targets: targetsKey, snapshot: snapshotKey, timestamp: timestampKey }, ctx.now), [rootSigner]);
  const targets = await signMetadata(newTargets(ctx.now), [await keys.getSigner(targetsKey.id)], 'targets');
  const meta = new Map([
    ['root', roleMetaFromBytes(root.raw)],
    ['targets', roleMetaFromBytes(targets.raw)],
  ]);
  const snapshot = await signMetadata(nextSnapshot(undefined, meta, ctx.now), [await keys.getSigner(snapshotKey.id)]);
  ctx.cache.writeMany(
    new Map([
      ['root', root.raw],
      ['targets', targets.raw],
      ['snapshot', snapshot.raw],
    ]),
  );
  return { rootKeyId, rootKeyCreated: existingRoot === undefined, rootCertificateKeyId: rootCert.id };
}

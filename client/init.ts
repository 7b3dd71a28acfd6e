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
// notary's `--rootkey FILE` (an encrypted root key, imported into the key
// store with the root passphrase) and `--rootcert FILE` (the root certificate
// to use instead of a self-signed one, e.g. one a CA issued for
// trust_pinning.ca; it must match the root key: the --rootkey one, else one in
// the key store). Stricter than notary: the certificate is checked as clients
// will check it (CN = GUN, validity, algorithms) before anything is written,
// where notary initialises and then fails at the first publish.

import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { DeserializationError, RemoteError, UsageError } from '../shared/errors.js';
import { notaryCodec } from '../shared/codec/notary.js';
import { canonicalKeyId, publicKeyFromCertificatePem } from '../shared/codec/notary-keys.js';
import { certificateToPem, checkRootCertificate, createSelfSignedCertificate, p1363ToDer } from '../shared/crypto/index.js';
import { notaryRootKeyRules, verifyFinalRoot } from '../shared/verify/index.js';
import { parseJson } from '../shared/json/parse.js';
import type { PublicKey, Signer } from '../shared/tuf/model.js';
import { CryptoService, FileKeyStore, type KeyStore, type PassphraseRetriever } from '../keys/index.js';
import { newKeyNeedsPassphrase } from '../keys/pkcs11/index.js';
import { encodePem, parsePemBlocks, PemError } from '../keys/pem.js';
import type { MetadataCache } from './cache.js';
import { notNotaryMetadata } from './update.js';
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
  /** `--rootkey`: an encrypted root private key file to initialise with. */
  readonly rootKeyFile?: string;
  /** `--rootcert`: the root certificate to use; it must match the root key. */
  readonly rootCertFile?: string;
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

function readFileText(file: string, flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (cause) {
    throw new UsageError(`cannot read ${flag} ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'}); check the path`, { cause });
  }
}

/** The root key PEM of `--rootkey`: encrypted only, as notary requires (a root key is never taken in the clear). */
function readRootKeyFile(file: string): string {
  const text = readFileText(file, '--rootkey');
  let blocks;
  try {
    blocks = parsePemBlocks(text).filter((b) => b.type.endsWith('PRIVATE KEY'));
  } catch (cause) {
    throw new UsageError(`--rootkey ${file} is not PEM: ${cause instanceof PemError ? cause.message : 'unreadable'}`, { cause });
  }
  if (blocks.length !== 1) throw new UsageError(`--rootkey ${file} must hold exactly one PEM private key, found ${blocks.length}`);
  const block = blocks[0]!;
  if (block.type !== 'ENCRYPTED PRIVATE KEY' && block.headers.get('Proc-Type') !== '4,ENCRYPTED') {
    throw new UsageError(
      `--rootkey ${file} is not encrypted; only encrypted root keys are imported (as in notary). Encrypt it first, e.g. \`openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA1 -in ${file} -out root-encrypted.pem\``,
    );
  }
  return encodePem(block); // only the key, whatever else the file holds
}

/**
 * The root key of `--rootcert`: the file's first certificate, written as Go writes it, after the
 * checks every client makes of a root certificate for `gun`.
 */
function readRootCertificate(file: string, gun: string, now: Date): PublicKey {
  const text = readFileText(file, '--rootcert');
  let der: Buffer | undefined;
  try {
    der = parsePemBlocks(text).find((b) => b.type === 'CERTIFICATE')?.bytes;
  } catch (cause) {
    throw new UsageError(`--rootcert ${file} is not PEM: ${cause instanceof PemError ? cause.message : 'unreadable'}`, { cause });
  }
  if (der === undefined) throw new UsageError(`--rootcert ${file} holds no PEM certificate`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (cause) {
    throw new UsageError(`--rootcert ${file}: the certificate does not parse`, { cause });
  }
  const problem = checkRootCertificate(cert, gun, now);
  if (problem !== null) throw new UsageError(`--rootcert ${file} cannot be the root certificate of ${gun}: ${problem}`);
  try {
    return publicKeyFromCertificatePem(certificateToPem(der));
  } catch (cause) {
    if (cause instanceof DeserializationError) throw new UsageError(`--rootcert ${file}: ${cause.message}`, { cause });
    throw cause;
  }
}

async function certificateKey(gun: string, signer: Signer, now: Date): Promise<PublicKey> {
  if (signer.publicKey.spki === null) throw new UsageError('the root key has no usable public key');
  // The self-signed certificate is signed as ECDSA; other root keys come with their certificate.
  if (signer.publicKey.keyType !== 'ecdsa') {
    throw new UsageError(`the root key is ${signer.publicKey.keyType}; signet makes self-signed root certificates for ECDSA keys only, so give this key's certificate with --rootcert`);
  }
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
 * @throws {DeserializationError} when the server answers root.json with something that is not root metadata.
 * @throws {KeyStoreError} PASSPHRASE_REQUIRED when a passphrase cannot be obtained (nothing is written then).
 * @throws {RemoteError} when the server cannot be reached or gives no timestamp key.
 */
export async function initRepository(ctx: InitContext): Promise<InitResult> {
  const { gun } = ctx;
  let existing: Buffer | undefined;
  try {
    existing = await ctx.remote.getRole('root');
  } catch (e) {
    if (!(e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND')) throw e;
  }
  if (existing !== undefined) {
    const answer = existing;
    try {
      notaryCodec.parse(answer, 'root');
    } catch (e) {
      if (!(e instanceof DeserializationError)) throw e;
      // Not a root at all: an HTML login page, a proxy's answer, some other service at -s.
      throw notNotaryMetadata(`${new URL(ctx.remote.baseUrl).origin} answered the request for the root metadata of ${gun} with something that is not notary metadata`, e);
    }
    throw new UsageError(`${gun} already exists on the server; use \`signet list ${gun}\` or pick another GUN`);
  }
  const timestampKey = notaryCodec.parseKey(parseJson(await ctx.remote.getKey('timestamp'), 'timestamp key'), 'timestamp.key');
  // The files named by flags are read and checked before anything is asked for or written.
  const rootKeyPem = ctx.rootKeyFile === undefined ? undefined : readRootKeyFile(ctx.rootKeyFile);
  const rootCert = ctx.rootCertFile === undefined ? undefined : readRootCertificate(ctx.rootCertFile, gun, ctx.now);

  // Obtain every new passphrase up front, so that nothing is written without all of them.
  const stores = (retriever: PassphraseRetriever): KeyStore[] => {
    const files = new FileKeyStore(ctx.trustDir, { retriever });
    return ctx.keyStores?.(files) ?? [files];
  };
  const probe = stores(ctx.retriever);
  let existingRoot: string | undefined;
  if (rootKeyPem === undefined && rootCert !== undefined) {
    existingRoot = canonicalKeyId(rootCert);
    if (!(await new CryptoService(probe).has(existingRoot))) {
      throw new UsageError(
        `no root key matching --rootcert ${ctx.rootCertFile} (key ID ${existingRoot}) is in the key store; give the key with --rootkey, or import it first with \`signet key import FILE --role root\``,
      );
    }
  } else if (rootKeyPem === undefined) existingRoot = await existingRootKey(probe);
  const newRoles = existingRoot === undefined && rootKeyPem === undefined ? ['root', 'targets', 'snapshot'] : ['targets', 'snapshot'];
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
    if (rootKeyPem !== undefined) {
      // Imported with the root passphrase (asked as notary asks it); a key already held stays on failure.
      const held = new Set((await keys.list()).map((k) => k.keyId));
      const imported = canonicalKeyId(await keys.stores[0]!.importPem(rootKeyPem, { role: 'root' }));
      if (!held.has(imported)) created.push(imported);
      existingRoot = imported;
      if (rootCert !== undefined && canonicalKeyId(rootCert) !== imported) {
        throw new UsageError(`--rootcert ${ctx.rootCertFile} is for key ${canonicalKeyId(rootCert)}, not for the --rootkey key ${imported}; give the certificate issued for that key`);
      }
    }
    return await initWithKeys(ctx, keys, existingRoot, create, timestampKey, rootCert);
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
  givenCert: PublicKey | undefined,
): Promise<InitResult> {
  const { gun } = ctx;
  // An existing root key is unlocked before anything new is created.
  const rootPlain = existingRoot === undefined ? await create({ role: 'root', algorithm: 'ecdsa' }) : undefined;
  const rootKeyId = existingRoot ?? rootPlain!.id;
  const rootCert = givenCert ?? (await certificateKey(gun, await keys.getSigner(rootKeyId), ctx.now));
  const rootSigner = await keys.getSigner(canonicalKeyId(rootCert), rootCert);
  const targetsKey = await create({ role: 'targets', gun, algorithm: 'ecdsa' });
  const snapshotKey = await create({ role: 'snapshot', gun, algorithm: 'ecdsa' });

  const root = await signMetadata(newRoot({ root: [rootCert], targets: targetsKey, snapshot: snapshotKey, timestamp: timestampKey }, ctx.now), [rootSigner]);
  // What every client will check of this root, before anything is cached.
  verifyFinalRoot(root, { gun, now: ctx.now, rules: notaryRootKeyRules });
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

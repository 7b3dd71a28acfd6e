// SPDX-License-Identifier: Apache-2.0
// `key rotate <gun> <role>`: replace the keys of a top-level role and publish
// the new root right away, in notary's shape (client.RotateKey):
//   root       a new ECDSA key (or --key files) with a self-signed
//              certificate (CN = GUN); the new root is signed by the old root
//              keys and the new ones; old root certificates stay in `keys`;
//   targets    a new key (or --key files); targets is re-signed with it;
//   snapshot   a new local key, or -r: the server makes one (POST snapshot.key)
//              and signs snapshots from then on;
//   timestamp  -r only (the server always holds it).
// Uploaded: root, re-signed targets, and a snapshot when we hold its key
// (-r snapshot: root alone, fixtures/http/025-*, 030-*).
// Order, so that a failure never bricks anything: verify the current state;
// check we hold the old root's threshold; get every passphrase; make the new
// keys in memory (a new token key on the token, after every other key we sign
// with is unlocked); build and sign; prove a client trusting the old root
// accepts the new one (lifecycle.signRootSuccessor) and that every changed
// role verifies under it; only then store the new private keys, POST, write
// the cache, and retire the replaced private keys (never root keys: they sign
// the next rotation). A failure before the server accepted the upload removes
// the keys made for the rotation again, on a token too; only when the server
// may have applied it (no answer) do they stay.

import { RemoteError, TrustError, UnsafeKeyChangeError, UsageError } from '../shared/errors.js';
import { notaryCodec } from '../shared/codec/notary.js';
import { canonicalKeyId, publicKeyFromCertificatePem } from '../shared/codec/notary-keys.js';
import { createSelfSignedCertificate, p1363ToDer } from '../shared/crypto/index.js';
import { parseJson } from '../shared/json/parse.js';
import { roleMetaFromBytes } from '../shared/tuf/file-meta.js';
import { DEFAULT_EXPIRY_SECONDS, expiresAfter } from '../shared/time.js';
import type { Envelope, FileMeta, PublicKey, RoleName, Root, Signer, Snapshot, Targets, TopLevelRole } from '../shared/tuf/model.js';
import { verifyDelegate } from '../shared/verify/index.js';
import { FileKeyStore, MemoryKeyStore, type CryptoService, type KeyStore, type PassphraseRetriever } from '../keys/index.js';
import { newKeyNeedsPassphrase, tokenStoreFor } from '../keys/pkcs11/index.js';
import { expiryWarnings, removalBlockers, rootRoleKeys, signRootSuccessor } from './lifecycle.js';
import { nextSnapshot, nextTargets, signMetadata } from './metadata.js';
import { checkRootPinning } from './trust-pinning.js';
import { refresh, RepositoryMissingError, type RefreshContext } from './update.js';

export interface RotationContext extends RefreshContext {
  /** Signs with the keys we hold (old root keys, snapshot key). */
  readonly keys: CryptoService;
  /** Where new private keys are stored (`<trustDir>/private`); replaced ones are removed from there. */
  readonly trustDir: string;
  readonly retriever: PassphraseRetriever;
}

export interface RotationRequest {
  readonly role: string;
  /** -r: the server holds the new key (snapshot, timestamp). */
  readonly serverManaged: boolean;
  /** --key: PEM texts of private keys to rotate to. */
  readonly keyPems?: readonly string[];
  /**
   * --legacy: also sign the new root with the held root keys of this many versions before the
   * current one (-1: all of them), for clients too old to walk root versions (notary's LegacyVersions).
   */
  readonly legacyVersions?: number;
}

export interface RotationResult {
  readonly role: TopLevelRole;
  /** The role's new key IDs as root lists them (certificate IDs for root). */
  readonly newKeyIds: readonly string[];
  readonly rootVersion: number;
  /** Roles uploaded, in upload order. */
  readonly published: readonly RoleName[];
  /** Canonical IDs of replaced private keys removed from the store. */
  readonly retired: readonly string[];
  readonly warnings: readonly string[];
}

/** @throws {UsageError} for combinations notary refuses too (client.checkRotationInput). */
export function checkRotationRequest(req: RotationRequest): TopLevelRole {
  const { role } = req;
  if (role !== 'root' && role !== 'targets' && role !== 'snapshot' && role !== 'timestamp') {
    throw new UsageError(`cannot rotate ${JSON.stringify(role)}: only root, targets, snapshot and timestamp keys rotate; delegation keys are changed with \`signet delegation\``);
  }
  const files = req.keyPems?.length ?? 0;
  if (req.serverManaged && (role === 'root' || role === 'targets')) throw new UsageError(`the server cannot hold the ${role} key: rotate it without -r`);
  if (!req.serverManaged && role === 'timestamp') throw new UsageError('the timestamp key is always held by the server: rotate it with -r');
  if (req.serverManaged && files > 0) throw new UsageError('-r asks the server for a new key; it cannot be combined with --key');
  return role;
}

async function certificateFor(gun: string, signer: Signer, now: Date): Promise<PublicKey> {
  if (signer.publicKey.algorithm !== 'ecdsa' || signer.publicKey.spki === null) {
    throw new UsageError(`a root key needs an ECDSA key to certify (got ${signer.publicKey.algorithm}); generate one with \`signet key generate ecdsa --role root\``);
  }
  const pem = await createSelfSignedCertificate({
    commonName: gun,
    publicKeySpki: signer.publicKey.spki,
    notBefore: now,
    // the signer yields ECDSA r‖s; a certificate wants the DER form of the same signature
    sign: async (tbs) => p1363ToDer((await signer.sign(tbs)).sig),
  });
  return publicKeyFromCertificatePem(pem);
}

interface NewKeys {
  readonly keys: PublicKey[];
  readonly signers: Signer[];
  /** Canonical IDs to move from the staging store into the trust dir. */
  readonly staged: string[];
  /** Canonical IDs of keys made in a key store for this rotation (on a token, and its file backup). */
  readonly made: string[];
}

/** Removes keys this rotation made in `ctx.keys` (a token), best effort: the rotation's own error is what the user sees. */
async function discardMadeKeys(ctx: RotationContext, made: readonly string[]): Promise<void> {
  for (const id of made) await ctx.keys.remove(id).catch(() => undefined);
}

async function newKeysFor(ctx: RotationContext, role: TopLevelRole, req: RotationRequest, staging: MemoryKeyStore): Promise<NewKeys> {
  if (req.serverManaged) {
    const body = await ctx.remote.rotateKey(role as 'snapshot' | 'timestamp');
    return { keys: [notaryCodec.parseKey(parseJson(body, `new ${role} key`), `${role}.key`)], signers: [], staged: [], made: [] };
  }
  const gunOption = role === 'root' ? {} : { gun: ctx.gun };
  const fromFiles = req.keyPems !== undefined && req.keyPems.length > 0;
  // A new key of a token role (root by default) is made on the configured token, as `init` does.
  const token = fromFiles ? undefined : await tokenStoreFor(ctx.keys.stores, role);
  const maker: KeyStore = token ?? staging;
  const plain: PublicKey[] = [];
  if (fromFiles) {
    for (const pem of req.keyPems!) plain.push(await staging.importPem(pem, { role, ...gunOption }));
  } else plain.push(await maker.generate({ role, ...gunOption, algorithm: 'ecdsa' }));
  const made = token === undefined ? [] : plain.map((p) => p.id);
  const keys: PublicKey[] = [];
  const signers: Signer[] = [];
  try {
    for (const p of plain) {
      const key = role === 'root' ? await certificateFor(ctx.gun, await maker.getSigner(p.id), ctx.now) : p;
      keys.push(key);
      signers.push(await maker.getSigner(p.id, key));
    }
  } catch (e) {
    await discardMadeKeys(ctx, made);
    throw e;
  }
  return { keys, signers, staged: token === undefined ? plain.map((p) => p.id) : [], made };
}

/** Whether a failed upload was answered with a refusal, so the server did not apply the rotation. */
function uploadRefused(e: unknown): boolean {
  return e instanceof RemoteError && (e.serverCode !== undefined || (e.httpStatus !== undefined && e.httpStatus >= 400 && e.httpStatus < 500));
}

/**
 * A rotation upload failed without a refusal (the connection broke, a gateway gave up): the server
 * may hold the new root, so the new keys (files `written`, keys `made` on a token) stay, and the error says so.
 */
function afterUnknownUpload(ctx: RotationContext, e: unknown, written: readonly string[], made: readonly string[]): unknown {
  if (!(e instanceof RemoteError) || written.length + made.length === 0) return e;
  const where = [...(written.length === 0 ? [] : [`${ctx.trustDir}/private`]), ...(made.length === 0 ? [] : ['the token'])].join(' and ');
  return e.withMessage(
    `${e.message}. Whether the server applied the rotation is unknown, so the new key(s) ${[...written, ...made].map((id) => id.slice(0, 12)).join(', ')} stay in ${where}; ` +
      `check with \`signet key list\` and \`signet list ${ctx.gun}\` before rotating again`,
  );
}

/** Root with `role`'s keys replaced; keys no other role uses are dropped, except old root certificates (notary keeps them). */
function rotatedRoot(root: Root, role: TopLevelRole, keys: readonly PublicKey[], now: Date): Root {
  const entry = root.roles.get(role)!;
  const roles = new Map(root.roles);
  roles.set(role, { keyIds: keys.map((k) => k.id), threshold: entry.threshold });
  const all = new Map(root.keys);
  if (role !== 'root') {
    const stillUsed = new Set([...roles.values()].flatMap((r) => r.keyIds));
    for (const id of entry.keyIds) if (!stillUsed.has(id)) all.delete(id);
  }
  for (const k of keys) all.set(k.id, k);
  return { ...root, version: root.version + 1, expires: expiresAfter(now, DEFAULT_EXPIRY_SECONDS.root), keys: all, roles };
}

function roleKeys(root: Root, role: RoleName): PublicKey[] {
  return (root.roles.get(role)?.keyIds ?? []).flatMap((id) => root.keys.get(id) ?? []);
}

/**
 * Adds to `signers` those we hold of the root keys of the `count` root versions before `version`
 * (-1: every one). Their extra signatures let a client that still trusts such an old root, and does
 * not walk the versions between, accept the new one; a version the server no longer has ends the search.
 */
async function addLegacyRootSigners(ctx: RotationContext, version: number, count: number, signers: Signer[]): Promise<void> {
  const oldest = count < 0 ? 1 : Math.max(1, version - count);
  for (let v = version - 1; v >= oldest; v--) {
    let bytes: Buffer;
    try {
      bytes = await ctx.remote.getRoleByVersion('root', v);
    } catch (e) {
      if (e instanceof RemoteError && e.code === 'METADATA_NOT_FOUND') break;
      throw e;
    }
    // Only which of our keys to sign with is taken from it: an extra signature cannot weaken the new root.
    for (const s of await ctx.keys.signersFor(rootRoleKeys(notaryCodec.parse(bytes, 'root').signed))) {
      if (!signers.some((x) => x.publicKey.id === s.publicKey.id)) signers.push(s);
    }
  }
}

/**
 * Rotate `req.role` of `ctx.gun` and publish the result.
 * @throws {UsageError} for a bad request or a repository that is not published yet.
 * @throws {UnsafeKeyChangeError} when the result would not verify for a client trusting the current root
 *   (nothing sent except, with -r, the request for a new server key; nothing written).
 * @throws {KeyStoreError}, {RemoteError}, {RepositoryError} as the steps they come from.
 */
export async function rotateKey(ctx: RotationContext, req: RotationRequest): Promise<RotationResult> {
  const role = checkRotationRequest(req);
  const { gun, now } = ctx;
  let state;
  try {
    state = await refresh(ctx);
  } catch (e) {
    // exit 7 (not found), like publishing into a repository that does not exist
    if (e instanceof RepositoryMissingError) throw new RepositoryMissingError('METADATA_NOT_FOUND', `${gun} has no trust data on the server yet; publish it first (signet publish ${gun}), then rotate`, { cause: e });
    throw e;
  }
  const { set, downloads } = state;
  const current = set.root;
  const rootThreshold = current.signed.roles.get('root')?.threshold ?? 1;
  const oldRootSigners = await ctx.keys.signersFor(rootRoleKeys(current.signed));
  if (oldRootSigners.length < rootThreshold) {
    // the root keys may be on a token that is not plugged in: say that, not "import them"
    const missing = ctx.keys.unavailable();
    if (missing !== undefined) throw missing;
    throw new UnsafeKeyChangeError(
      `cannot rotate the ${role} key of ${gun}: the new root must be signed by ${rootThreshold} of the current root keys and you hold ${oldRootSigners.length} ` +
        `(${rootRoleKeys(current.signed).map(canonicalKeyId).join(', ')}); import them with \`signet key import\`. Nothing was sent or written`,
    );
  }
  // Every passphrase up front: nothing is sent or stored unless all of them are at hand.
  let chosen: string | undefined;
  const onToken = !req.serverManaged && (req.keyPems?.length ?? 0) === 0 && !(await newKeyNeedsPassphrase(ctx.keys.stores, role));
  if (!req.serverManaged && !onToken) chosen = await ctx.retriever({ keyName: 'new', role, ...(role === 'root' ? {} : { gun }), createNew: true, attempt: 0 });
  // The snapshot key is unlocked before a new key is made (on a token, it would outlive a failure here).
  // Rotating another role leaves the snapshot role's keys as they are.
  const heldSnapshotSigners = role === 'snapshot' ? [] : await ctx.keys.signersFor(roleKeys(current.signed, 'snapshot'));
  const staging = new MemoryKeyStore({ retriever: ctx.retriever });
  const fresh = await newKeysFor(ctx, role, req, staging);
  // From here until the server accepts the upload (or may have: no answer), a failure removes the keys made on a token.
  let keepNewKeys = false;
  try {
    const threshold = current.signed.roles.get(role)?.threshold ?? 1;
    if (new Set(fresh.keys.map(canonicalKeyId)).size < threshold) {
      throw new UnsafeKeyChangeError(`${role} of ${gun} needs ${threshold} signatures, so rotate it to at least ${threshold} keys (repeat --key); nothing was sent or written`);
    }

    const rootModel = rotatedRoot(current.signed, role, fresh.keys, now);
    const signers = role === 'root' ? [...oldRootSigners, ...fresh.signers] : [...oldRootSigners];
    await addLegacyRootSigners(ctx, current.signed.version, req.legacyVersions ?? 0, signers);
    const newRoot = await signRootSuccessor(gun, current, rootModel, signers, now);
    const files = new Map<RoleName, Buffer>([['root', newRoot.raw]]);
    const pinWarnings: string[] = [];
    try {
      checkRootPinning(newRoot, { gun, config: ctx.pinning, firstUse: false, now });
    } catch (e) {
      if (!(e instanceof TrustError)) throw e;
      // Our own pins (and any client pinned like us) would refuse the new root: say so, the rotation itself is sound.
      pinWarnings.push(`${e.message}; add the new root certificate ID(s) ${newRoot.signed.roles.get('root')!.keyIds.join(', ')} to trust_pinning.certs["${gun}"] of every client that pins this repository`);
    }

    let targets: Envelope<Targets> | undefined;
    if (role === 'targets') {
      const base = set.getTargets('targets')!.signed;
      targets = await signMetadata(nextTargets(base, base.targets, now), fresh.signers, 'targets');
      verifyDelegate('targets', newRoot.signed.keys, newRoot.signed.roles.get('targets')!, targets);
      files.set('targets', targets.raw);
    }
    const snapshotSigners = role === 'snapshot' ? fresh.signers : heldSnapshotSigners;
    let snapshot: Envelope<Snapshot> | undefined;
    if (snapshotSigners.length > 0) {
      const meta = new Map<RoleName, FileMeta>(set.snapshot?.signed.meta ?? []);
      for (const [r, bytes] of files) meta.set(r, roleMetaFromBytes(bytes));
      snapshot = await signMetadata(nextSnapshot(set.snapshot?.signed, meta, now), snapshotSigners);
      verifyDelegate('snapshot', newRoot.signed.keys, newRoot.signed.roles.get('snapshot')!, snapshot);
      files.set('snapshot', snapshot.raw);
    }

    // Verified: store the new private keys before the server can depend on them
    // (moved encrypted, with the passphrase chosen above).
    const written: string[] = [];
    if (fresh.staged.length > 0) {
      const pass = chosen!;
      const into = new FileKeyStore(ctx.trustDir, { retriever: async () => pass });
      for (const id of fresh.staged) {
        // A key already in private/ (one imported earlier, named with --key) is left exactly as it is.
        if (await into.has(id)) continue;
        await into.importPem(await staging.exportPem(id, { passphrase: pass }));
        written.push(id);
      }
    }
    try {
      await ctx.remote.publish(files);
    } catch (e) {
      if (!uploadRefused(e)) {
        keepNewKeys = true;
        throw afterUnknownUpload(ctx, e, written, fresh.made);
      }
      // refused: the rotation did not happen, so the key files written for it go again (the token keys in the catch above)
      const store = new FileKeyStore(ctx.trustDir, { retriever: ctx.retriever });
      for (const id of written) await store.remove(id);
      throw e;
    }
    keepNewKeys = true; // accepted: the new keys are in use
    const uncached = ctx.cache.recordAccepted(new Map([...downloads, ...files]));

    const retired: string[] = [];
    if (role !== 'root') {
      const keep = new Set(fresh.keys.map(canonicalKeyId));
      const store = new FileKeyStore(ctx.trustDir, { retriever: ctx.retriever });
      const labelled = new Map((await store.list()).map((k) => [k.keyId, k]));
      const held = new Set(labelled.keys());
      for (const old of roleKeys(current.signed, role).map(canonicalKeyId)) {
        const info = labelled.get(old);
        if (keep.has(old) || info === undefined || info.role !== role || info.gun !== gun) continue;
        // Still needed where the cache shows it (a delegation signed with the same key): kept.
        if (removalBlockers(ctx.trustDir, old, held).length > 0) continue;
        await store.remove(old);
        retired.push(old);
      }
    }
    const targetsRoles = new Map<RoleName, Envelope<Targets>>();
    for (const r of set.loadedTargetsRoles) targetsRoles.set(r, set.getTargets(r)!);
    if (targets !== undefined) targetsRoles.set('targets', targets);
    const warnings = [...state.warnings, ...pinWarnings, ...(uncached === undefined ? [] : [uncached]), ...expiryWarnings({ gun, root: newRoot, snapshot: snapshot ?? set.snapshot, targets: targetsRoles }, now)];
    return { role, newKeyIds: fresh.keys.map((k) => k.id), rootVersion: newRoot.signed.version, published: [...files.keys()], retired, warnings };
  } catch (e) {
    if (!keepNewKeys) await discardMadeKeys(ctx, fresh.made);
    throw e;
  }
}

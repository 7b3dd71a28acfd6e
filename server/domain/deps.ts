// SPDX-License-Identifier: Apache-2.0
// What the trust domain's use cases run on: the store, the wire codec, the
// server keys, the root-key rules of the dialect and a clock. Built once by
// createTrustService; tests build it with a fixed clock.

import type { NotaryCodec } from '../../shared/codec/notary.js';
import { signEnvelope } from '../../shared/codec/sign-envelope.js';
import type { Signed, Signer } from '../../shared/tuf/model.js';
import type { RootKeyRules } from '../../shared/verify/root-key-rules.js';
import type { ServerKeys } from '../signer/server-keys.js';
import { ServerKeyGoneError, type MetaStore, type MetaUpdate, type ServerKeyRef } from '../storage/meta-store.js';
import { UpdateRefusalError } from './errors.js';

export interface Lifetimes {
  /** Seconds a server-signed snapshot is valid (notary: 3 years). */
  readonly snapshot: number;
  /** Seconds a server-signed timestamp is valid (notary: 14 days). */
  readonly timestamp: number;
}

export interface DomainDeps {
  readonly store: MetaStore;
  readonly codec: NotaryCodec;
  readonly keys: ServerKeys;
  readonly rules: RootKeyRules;
  readonly now: () => Date;
  readonly lifetimes: Lifetimes;
  /** Largest accepted metadata part, bytes. */
  readonly maxMetadataBytes: number;
}

/** Metadata the server signed: its wire bytes and version. */
export interface SignedFile {
  readonly version: number;
  readonly data: Buffer;
  /** The stored server key that signed it, when keys are rows of the store (ServerKeys.keysInStore). */
  readonly serverKey?: ServerKeyRef;
}

/** The stored keys behind `files`, for UpdateOptions.serverKeys. */
export function serverKeysOf(files: readonly SignedFile[]): ServerKeyRef[] {
  return files.flatMap((f) => (f.serverKey === undefined ? [] : [f.serverKey]));
}

/** The key reference to record for a signature by `signer`, when the store holds the key. */
export function storedKey(keys: ServerKeys, role: ServerKeyRef['role'], signer: Signer): { serverKey?: ServerKeyRef } {
  return keys.keysInStore ? { serverKey: { role, keyId: signer.publicKey.id } } : {};
}

/** Wire bytes of `signed`, signed by one server key, exactly as notary-server writes them. */
export async function signMetadata(codec: NotaryCodec, signer: Signer, signed: Signed): Promise<Buffer> {
  return (await signEnvelope(codec, signed, [signer])).raw;
}

/**
 * Store `writes` onto `baseRoot`, and only while the stored server keys that signed any of
 * `signed` still are: another server may have deleted the GUN, and its keys with it, while this
 * one held them decrypted. A key gone is refused as one never held (SERVER_KEY_MISSING).
 * @throws {VersionConflictError} as MetaStore.updateMany; {UpdateRefusalError} for a key gone.
 */
export async function storeSigned(deps: DomainDeps, gun: string, writes: readonly MetaUpdate[], baseRoot: string | null, signed: readonly SignedFile[]): Promise<void> {
  try {
    await deps.store.updateMany(gun, writes, { baseRoot, serverKeys: serverKeysOf(signed) });
  } catch (error) {
    if (!(error instanceof ServerKeyGoneError)) throw error;
    // The decrypted copies of keys whose rows are gone must not stay in memory. Only stored keys
    // are checked (keysInStore), and for those forget clears the signer's cache and deletes nothing.
    await deps.keys.forget(gun);
    const roles = [...new Set(error.missing.map((k) => k.role))].sort();
    const urls = roles.map((r) => `GET /v2/${gun}/_trust/tuf/${r}.key`).join(' and ');
    const hint = `${error.message}; fetch ${urls}, list ${roles.length > 1 ? 'those keys' : 'that key'} in root and publish again`;
    // As a server that never held the keys answers (and notary, which signs the snapshot first):
    // a snapshot key gone is ErrBadHierarchy even when the timestamp key is gone too.
    throw roles.includes('snapshot')
      ? new UpdateRefusalError('ErrBadHierarchy', 'SERVER_KEY_MISSING', hint, { role: 'snapshot', missing: 'snapshot', cause: error })
      : new UpdateRefusalError('ErrBadRoot', 'SERVER_KEY_MISSING', hint, { role: 'root', cause: error });
  }
}

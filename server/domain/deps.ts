// SPDX-License-Identifier: Apache-2.0
// What the trust domain's use cases run on: the store, the wire codec, the
// server keys, the root-key rules of the dialect and a clock. Built once by
// createTrustService; tests build it with a fixed clock.

import type { NotaryCodec } from '../../shared/codec/notary.js';
import { signEnvelope } from '../../shared/codec/sign-envelope.js';
import type { Signed, Signer } from '../../shared/tuf/model.js';
import type { RootKeyRules } from '../../shared/verify/root-key-rules.js';
import type { ServerKeys } from '../signer/server-keys.js';
import type { MetaStore } from '../storage/meta-store.js';

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
}

/** Wire bytes of `signed`, signed by one server key, exactly as notary-server writes them. */
export async function signMetadata(codec: NotaryCodec, signer: Signer, signed: Signed): Promise<Buffer> {
  return (await signEnvelope(codec, signed, [signer])).raw;
}

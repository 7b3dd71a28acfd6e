// SPDX-License-Identifier: Apache-2.0
// Named corruptions of metadata bytes (notary tuf/testutils/swizzler.go), so a
// negative test is one line of setup. Edits that change `signed` invalidate the
// signatures unless `resignWith` is given; byte-level edits keep the content.

import { notaryCodec } from '../../shared/codec/notary.js';
import type { JSONObject, JSONValue } from '../../shared/json/types.js';
import { formatExpires } from '../../shared/time.js';
import type { Signature } from '../../shared/tuf/model.js';
import type { SimKey } from './repository-simulator.js';

interface Parts {
  tree: JSONObject;
  signatures: Signature[];
}

function open(bytes: Uint8Array): Parts {
  const env = notaryCodec.parseAny(bytes);
  return { tree: structuredClone(env.signedTree), signatures: [...env.signatures] };
}

async function close(parts: Parts, resignWith?: readonly SimKey[]): Promise<Buffer> {
  if (resignWith === undefined) return notaryCodec.encode(parts.tree, parts.signatures);
  const message = notaryCodec.signedBytes(parts.tree);
  return notaryCodec.encode(parts.tree, await Promise.all(resignWith.map((k) => k.signer.sign(message))));
}

/** Same content, different bytes: the hash changes, signatures stay valid. */
export function extraWhitespace(bytes: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(' '), Buffer.from(bytes), Buffer.from('\n')]);
}

/** Endless data: valid content followed by `n` bytes of padding. */
export function appendPadding(bytes: Uint8Array, n = 1024): Buffer {
  return Buffer.concat([Buffer.from(bytes), Buffer.alloc(n, 0x20)]);
}

/** Not JSON any more. */
export function invalidJson(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes).subarray(0, Math.max(1, bytes.length >> 1));
}

/** `signed.version += delta`; signatures break unless re-signed. */
export async function offsetVersion(bytes: Uint8Array, delta: number, resignWith?: readonly SimKey[]): Promise<Buffer> {
  const p = open(bytes);
  p.tree.version = (p.tree.version as number) + delta;
  return close(p, resignWith);
}

/** `signed.expires` set to `when` (default: the epoch); signatures break unless re-signed. */
export async function expire(bytes: Uint8Array, when = new Date(0), resignWith?: readonly SimKey[]): Promise<Buffer> {
  const p = open(bytes);
  p.tree.expires = formatExpires(when);
  return close(p, resignWith);
}

/** Any edit of `signed`, e.g. adding a target; signatures break unless re-signed. */
export async function editSigned(bytes: Uint8Array, edit: (tree: JSONObject) => void, resignWith?: readonly SimKey[]): Promise<Buffer> {
  const p = open(bytes);
  edit(p.tree);
  return close(p, resignWith);
}

/** Replace every signature by signatures of other keys (keys not in the role). */
export async function wrongKeySignature(bytes: Uint8Array, keys: readonly SimKey[]): Promise<Buffer> {
  return close(open(bytes), keys);
}

/** Append signatures by extra keys to the existing ones. */
export async function addSignatures(bytes: Uint8Array, keys: readonly SimKey[]): Promise<Buffer> {
  const p = open(bytes);
  const message = notaryCodec.signedBytes(p.tree);
  p.signatures.push(...(await Promise.all(keys.map((k) => k.signer.sign(message)))));
  return close(p);
}

/** Repeat the first signature `times` more times. */
export function duplicateSignature(bytes: Uint8Array, times = 1): Buffer {
  const p = open(bytes);
  const first = p.signatures[0];
  if (first === undefined) throw new Error('nothing to duplicate: no signatures');
  for (let i = 0; i < times; i++) p.signatures.push(first);
  return notaryCodec.encode(p.tree, p.signatures);
}

/** Keep only the signatures `keep` accepts. */
export function filterSignatures(bytes: Uint8Array, keep: (s: Signature) => boolean): Buffer {
  const p = open(bytes);
  return notaryCodec.encode(p.tree, p.signatures.filter(keep));
}

/** No signatures at all. */
export function dropSignatures(bytes: Uint8Array): Buffer {
  return filterSignatures(bytes, () => false);
}

/** Flip one bit of every signature. */
export function corruptSignatures(bytes: Uint8Array): Buffer {
  const p = open(bytes);
  return notaryCodec.encode(
    p.tree,
    p.signatures.map((s) => {
      const sig = Buffer.from(s.sig);
      sig[0] = sig[0]! ^ 0x01;
      return { ...s, sig };
    }),
  );
}

/** Set a JSON value at a dotted path inside `signed` (array indexes allowed). */
export function setAt(tree: JSONObject, path: string, value: JSONValue): void {
  const parts = path.split('.');
  let node: JSONValue = tree;
  for (const part of parts.slice(0, -1)) node = (node as Record<string, JSONValue>)[part]!;
  (node as Record<string, JSONValue>)[parts[parts.length - 1]!] = value;
}

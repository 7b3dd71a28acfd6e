// SPDX-License-Identifier: Apache-2.0
// Moving private keys in and out of a trust directory, with notary's formats:
//   import   every PEM private-key block of every file (notary key import):
//            the block's own role/gun headers first, then --role/--gun, then
//            role `delegation`; a `path: tuf_keys/<gun>/…` header (exports of
//            pre-0.4 clients) gives the gun; unencrypted input (openssl output,
//            a Docker client bundle's key.pem) is encrypted before it is stored.
//   export   the stored, encrypted blocks with a `path: <key ID>` header that
//            notary's import understands (cmd/notary key export); never plaintext.
//   generate to files: <out>-key.pem (encrypted, with `path` so notary can
//            import it) and <out>.pem (public, `role` header), the key not
//            kept in any store (notary key generate -o).
// Stricter than notary: a block that fails does not stop the others, but the
// command then fails naming each block; --key IDs that are not in the store
// are an error instead of being skipped; existing output files of `generate`
// are never overwritten (they may hold the only copy of another key).

import fs from 'node:fs';
import { KeyStoreError, UsageError } from '../shared/errors.js';
import type { PublicKey } from '../shared/tuf/model.js';
import { MemoryKeyStore, type GenerateAlgorithm, type KeyStore, type PassphraseRetriever } from '../keys/index.js';
import { encodePem, parsePemBlocks, PemError, type PemBlock } from '../keys/pem.js';
import { canonicalKeyId } from '../shared/codec/notary-keys.js';

export interface ImportedKey {
  readonly source: string;
  readonly keyId: string;
  readonly publicKey: PublicKey;
}

export interface ImportReport {
  readonly imported: ImportedKey[];
  /** One line per block that could not be imported. */
  readonly failures: string[];
}

/** notary handleLegacyPath: `tuf_keys/<gun>/<id>_<role>` names the gun. */
function legacyPathGun(p: string): string | undefined {
  const dir = p.split('/').slice(0, -1).join('/');
  if (!dir.startsWith('tuf_keys')) return undefined;
  const gun = dir.slice('tuf_keys'.length).replace(/^\/+|\/+$/g, '');
  return gun === '' ? undefined : gun;
}

function importableBlock(block: PemBlock): string {
  const headers = new Map(block.headers);
  const p = headers.get('path');
  if (p !== undefined) {
    const gun = legacyPathGun(p);
    if (gun !== undefined && !headers.has('gun')) headers.set('gun', gun);
    // only tells notary where to write; the key ID decides that here
    headers.delete('path');
  }
  return encodePem({ type: block.type, headers, bytes: block.bytes });
}

/**
 * Import every private key block of `files` into `store`. Every file is read and parsed first, so
 * an unreadable one stops the command before anything is imported.
 * @throws {UsageError} when a file cannot be read or holds no private key at all.
 * @throws {KeyStoreError} PASSPHRASE_REQUIRED when a passphrase is missing, naming the keys imported before it.
 */
export async function importKeyFiles(store: KeyStore, files: readonly string[], options: { role?: string; gun?: string }): Promise<ImportReport> {
  const pending: Array<{ readonly source: string; readonly block: PemBlock }> = [];
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (cause) {
      throw new UsageError(`cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'}); check the path`, { cause });
    }
    let blocks: PemBlock[];
    try {
      blocks = parsePemBlocks(text).filter((b) => b.type.endsWith('PRIVATE KEY'));
    } catch (cause) {
      throw new UsageError(`${file} is not PEM: ${cause instanceof PemError ? cause.message : 'unreadable'}`, { cause });
    }
    if (blocks.length === 0) throw new UsageError(`${file} holds no PEM private key block (a certificate or public key cannot be imported)`);
    for (const [i, block] of blocks.entries()) pending.push({ source: blocks.length === 1 ? file : `${file} (key ${i + 1} of ${blocks.length})`, block });
  }
  const imported: ImportedKey[] = [];
  const failures: string[] = [];
  for (const { source, block } of pending) {
    try {
      const publicKey = await store.importPem(importableBlock(block), {
        ...(options.role === undefined ? {} : { role: options.role }),
        ...(options.gun === undefined ? {} : { gun: options.gun }),
      });
      imported.push({ source, keyId: canonicalKeyId(publicKey), publicKey });
    } catch (e) {
      if (!(e instanceof KeyStoreError)) throw e;
      if (e.code === 'PASSPHRASE_REQUIRED') {
        if (imported.length === 0) throw e;
        const done = imported.map((k) => `${k.keyId.slice(0, 12)} from ${k.source}`).join(', ');
        throw new KeyStoreError('PASSPHRASE_REQUIRED', `${source}: ${e.message} (already imported: ${done})`, { cause: e });
      }
      failures.push(`${source}: ${e.message}`);
    }
  }
  return { imported, failures };
}

/**
 * The export text of `keyIds` (default: every key, or those of `guns`), each
 * block encrypted as stored and labelled with `path: <key ID>`.
 * @throws {UsageError} for --key together with --gun, or an ID the store does not hold.
 */
export async function exportKeys(store: KeyStore, options: { keyIds?: readonly string[]; guns?: readonly string[] }): Promise<string> {
  const keyIds = options.keyIds ?? [];
  const guns = options.guns ?? [];
  if (keyIds.length > 0 && guns.length > 0) throw new UsageError('give either --key or --gun, not both');
  const listed = (await store.list()).filter((k) => k.problem === undefined);
  const held = new Set(listed.map((k) => k.keyId));
  for (const id of keyIds) if (!held.has(id)) throw new UsageError(`key ${id} is not in ${store.name}; see \`signet key list\``);
  const chosen = listed
    .filter((k) => (keyIds.length > 0 ? keyIds.includes(k.keyId) : guns.length > 0 ? k.gun !== undefined && guns.includes(k.gun) : true))
    .map((k) => k.keyId)
    .sort();
  let out = '';
  for (const id of [...new Set(chosen)]) out += withPathHeader(await store.exportPem(id), id);
  return out;
}

/** Every block of `pem` with a `path: <key ID>` header, where notary's import writes it. */
function withPathHeader(pem: string, keyId: string): string {
  return parsePemBlocks(pem)
    .map((block) => encodePem({ type: block.type, headers: new Map([...block.headers, ['path', keyId]]), bytes: block.bytes }))
    .join('');
}

export interface GeneratedFiles {
  readonly keyId: string;
  readonly privateFile: string;
  readonly publicFile: string;
}

function writeNew(file: string, text: string): void {
  try {
    fs.writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(code === 'EEXIST' ? `${file} already exists; choose another -o name or move the file away` : `cannot write ${file} (${code})`, { cause });
  }
}

/**
 * `key generate -o out`: a new key in `<out>-key.pem` (encrypted with a new
 * passphrase from `retriever`) and its public key in `<out>.pem`.
 */
export async function generateKeyFiles(options: { role: string; gun?: string; algorithm: GenerateAlgorithm; out: string; retriever: PassphraseRetriever }): Promise<GeneratedFiles> {
  const privateFile = `${options.out}-key.pem`;
  const publicFile = `${options.out}.pem`;
  for (const f of [privateFile, publicFile]) if (fs.existsSync(f)) throw new UsageError(`${f} already exists; choose another -o name or move the file away`);
  const scratch = new MemoryKeyStore({ retriever: options.retriever });
  const pub = await scratch.generate({ role: options.role, ...(options.gun === undefined ? {} : { gun: options.gun }), algorithm: options.algorithm });
  const encrypted = await scratch.exportPem(pub.id);
  const spki = pub.spki;
  if (spki === null) throw new KeyStoreError('KEY_FILE_INVALID', 'the generated key has no public key encoding');
  // `path` lets notary's `key import` take the encrypted block (notary's own -o output lacks it, so notary cannot import it)
  writeNew(privateFile, withPathHeader(encrypted, pub.id));
  writeNew(publicFile, encodePem({ type: 'PUBLIC KEY', headers: new Map([['role', options.role]]), bytes: spki }));
  return { keyId: pub.id, privateFile, publicFile };
}

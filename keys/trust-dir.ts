// SPDX-License-Identifier: Apache-2.0
// Where key files live in a Notary trust_dir, and how they are written.
//   private/<canonical-id>.key                      current layout (0.4+)
//   private/root_keys/<id>_root.key                 legacy, role from the name
//   private/tuf_keys/<gun path>/<id>_<role>.key     legacy, gun from the directories
// Legacy files are read in place (see file-store.ts for why they are not
// migrated eagerly). Writes are atomic: a 0600 temp file in the same
// directory, fsync, rename, fsync of the directory; directories are 0700.

import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
// Writes use fs.promises (a getter), not node:fs/promises: that module, which loads readline, is then
// loaded only by a command that writes a key, not at every start-up.
import fs from 'node:fs';
import path from 'node:path';
import { KeyStoreError, TrustDirError, type TrustErrorOptions } from '../shared/errors.js';
import { MAX_KEY_FILE_BYTES } from './key-file.js';

export const KEY_ID_RE = /^[0-9a-f]{64}$/;
const LEGACY_NAME_RE = /^([0-9a-f]{64})_([A-Za-z0-9_.-]+)\.key$/;

export interface KeyFileEntry {
  readonly keyId: string;
  readonly path: string;
  /** Role and gun implied by a legacy path; the file's headers take precedence. */
  readonly legacy?: { readonly role: string; readonly gun?: string };
}

/**
 * What to do about a failed file operation in a trust directory, by its errno. With `dir`, a
 * path that is not a directory (or an unknown failure) names that directory.
 */
export function trustDirRemedy(code: string | undefined, dir?: string): string {
  if (dir !== undefined && (code === undefined || code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR')) {
    return `${dir} must be a directory of yours holding only files`;
  }
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the disk is full: free some space and retry';
    case 'EROFS':
      return 'the file system is read-only: use a writable trust directory (-d)';
    case 'EACCES':
    case 'EPERM':
      return 'you may not write there: make the trust directory yours and writable, or use another (-d)';
    case 'ENAMETOOLONG':
      return 'the path is too long: use a shorter trust directory path (-d)';
    default:
      return 'check that the trust directory exists, is a directory and belongs to you';
  }
}

/** A path of the trust directory is of the wrong kind: a file where a directory must be, or a directory where a file must be. */
export class FileInTheWayError extends TrustDirError {
  /** The path in the way (`p` itself or one of its parents). */
  readonly path: string;
  /** What signet needs at `path`. */
  readonly expected: 'directory' | 'file';
  constructor(what: string, inTheWay: string, expected: 'directory' | 'file', code: string, options?: TrustErrorOptions & { readonly after?: string }) {
    const found = expected === 'directory' ? 'not a directory' : 'a directory';
    super(
      `cannot ${what}: ${inTheWay} is ${found}, but signet needs a ${expected} there (${code}); move it away (rename or remove it) and retry${options?.after ?? ''}`,
      options,
    );
    this.path = inTheWay;
    this.expected = expected;
  }
}

/**
 * The FileInTheWayError for an fs error (EEXIST, ENOTDIR, EISDIR) that came from something of the
 * wrong kind at `p` (which must be an `expected`) or at one of its parents, or at the destination of
 * a failed rename; undefined for any other failure. `what` says what was being done ("create
 * the directory X"); `after` is appended to the message.
 */
export function fileInTheWay(p: string, expected: 'directory' | 'file', cause: unknown, what: string, after = ''): FileInTheWayError | undefined {
  const err = cause as (NodeJS.ErrnoException & { dest?: string }) | undefined;
  const code = err?.code;
  if (code !== 'EEXIST' && code !== 'ENOTDIR' && code !== 'EISDIR') return undefined;
  // a rename onto a directory fails with the directory as its destination
  const starts: Array<readonly [string, 'directory' | 'file']> = [...(typeof err?.dest === 'string' ? [[err.dest, 'file'] as const] : []), [p, expected]];
  for (const [start, kind] of starts) {
    // walk up from `start` to the first path that exists: the obstacle if it is of the wrong kind
    for (let cur = path.resolve(start), want = kind; ; want = 'directory') {
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(cur);
      } catch {
        st = undefined; // missing, or below a file: look at the parent
      }
      if (st !== undefined) {
        if (st.isDirectory() !== (want === 'directory')) return new FileInTheWayError(what, cur, want, code, { cause, after });
        break;
      }
      const up = path.dirname(cur);
      if (up === cur) break;
      cur = up;
    }
  }
  return undefined;
}

function ioError(what: string, p: string, cause: unknown, expected: 'directory' | 'file'): TrustDirError | KeyStoreError {
  const inTheWay = fileInTheWay(p, expected, cause, `${what} ${p}`);
  if (inTheWay !== undefined) return inTheWay;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new KeyStoreError('KEY_STORE_IO', `cannot ${what} ${p} (${code ?? 'error'}); ${trustDirRemedy(code)}`, { cause });
}

// Listing and reading are synchronous: key files are a few small local files, and each
// asynchronous call waited ~0.4 ms for the thread pool (~4 ms for its first use), several
// times per CLI command, where the synchronous call takes ~20 µs. Writes stay asynchronous.
function readDir(dir: string): Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError('list', dir, cause, 'directory');
  }
}

/** Every key file under `privateDir`, current layout first. */
export function scanKeyFiles(privateDir: string): KeyFileEntry[] {
  const out: KeyFileEntry[] = [];
  for (const e of readDir(privateDir)) {
    const m = /^([0-9a-f]{64})\.key$/.exec(e.name);
    if (m !== null && e.isFile()) out.push({ keyId: m[1]!, path: path.join(privateDir, e.name) });
  }
  const rootDir = path.join(privateDir, 'root_keys');
  for (const e of readDir(rootDir)) {
    const m = LEGACY_NAME_RE.exec(e.name);
    if (m !== null && m[2] === 'root' && e.isFile()) out.push({ keyId: m[1]!, path: path.join(rootDir, e.name), legacy: { role: 'root' } });
  }
  const tufDir = path.join(privateDir, 'tuf_keys');
  const walk = (dir: string, depth: number): void => {
    if (depth > 16) return;
    for (const e of readDir(dir)) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      const m = LEGACY_NAME_RE.exec(e.name);
      if (m === null || !e.isFile()) continue;
      const gun = path.relative(tufDir, dir).split(path.sep).join('/');
      out.push({ keyId: m[1]!, path: p, legacy: { role: m[2]!, ...(gun === '' ? {} : { gun }) } });
    }
  };
  walk(tufDir, 0);
  return out;
}

/** Reads a key file, refusing oversized ones before loading them. */
export function readKeyFileBytes(p: string, keyId: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(p, 'r');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') throw new KeyStoreError('KEY_NOT_FOUND', `key ${keyId} disappeared from ${p}`);
    throw ioError('read', p, cause, 'file');
  }
  try {
    const { size } = fs.fstatSync(fd);
    if (size > MAX_KEY_FILE_BYTES) throw new KeyStoreError('KEY_FILE_INVALID', `${p} is ${size} bytes, too large to be a key file; remove it`);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates `dir` (and missing parents) with mode 0700. An existing `dir` that others may write to is
 * narrowed to 0700 (stricter than notary): whoever can write there can remove key files or plant a
 * key this store would use. Its parents are left as they are.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await fs.promises.stat(dir);
    if ((st.mode & 0o077) !== 0) await fs.promises.chmod(dir, 0o700);
  } catch (cause) {
    throw ioError('create', dir, cause, 'directory');
  }
}

/**
 * Writes an encrypted key file atomically with mode 0600.
 * SECURITY: refuses anything that is not an `ENCRYPTED PRIVATE KEY` block, so
 * no code path can put an unencrypted key on disk.
 */
export async function writeKeyFileAtomic(dest: string, pemText: string): Promise<void> {
  if (!pemText.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----\n')) {
    throw new KeyStoreError('KEY_FILE_INVALID', `refusing to write ${dest}: only encrypted key files are written`);
  }
  const dir = path.dirname(dest);
  await ensurePrivateDir(dir);
  // The temp name does not end in .key, so a crash never leaves a file Notary would list.
  const tmp = path.join(dir, `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await fs.promises.open(tmp, 'wx', 0o600);
    try {
      await fh.chmod(0o600);
      await fh.writeFile(pemText, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, dest);
  } catch (cause) {
    // best effort: a failing clean-up (no permission to look) must not hide why the write failed
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw ioError('write', dest, cause, 'file');
  }
  try {
    const d = await fs.promises.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Directory fsync is best effort (unsupported on some filesystems); the rename already happened.
  }
}

/** Deletes a key file; ENOENT is not an error (someone else removed it). */
export async function removeKeyFile(p: string): Promise<void> {
  try {
    await fs.promises.rm(p);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('remove', p, cause, 'file');
  }
}

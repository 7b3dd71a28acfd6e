// SPDX-License-Identifier: Apache-2.0
// Staged, unpublished changes in `<trust_dir>/tuf/<gun>/changelist/`, in
// notary 0.7's exact file format so either tool can read the other's:
//   file name  %020d_%s.change  (Unix nanoseconds, `_`, random UUID); applied in name order;
//   body       Go encoding/json of {"action","role","type","path","data"} in that
//              order, `data` = base64 of the payload or null, no trailing newline.
// Every regular file in the directory counts, as in notary (indexes for
// `reset -n` are positions in that sorted listing). Writes are atomic: the
// file is written and fsynced under a temporary name outside the directory,
// then renamed in, so notary never lists a half-written change.
// Stricter than notary: an unreadable change file is an error naming the file
// and how to remove it, not a warning followed by a publish without it. Entries
// that are not regular files are opened non-blocking, so a FIFO among them reads
// as empty (and is refused) instead of hanging the command as it hangs notary.

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DeserializationError, TrustDirError, UsageError } from '../shared/errors.js';
import { decodeBase64Strict } from '../shared/codec/base64.js';
import { isJSONObject } from '../shared/json/types.js';
import { parseJson } from '../shared/json/parse.js';
import { writeTempFile } from './atomic-file.js';
import { goJsonString } from '../shared/codec/notary-write.js';
import { changelistDir } from './trust-dir.js';
import { fileInTheWay, trustDirRemedy } from '../keys/index.js';

/** Actions and types notary writes (others are read back verbatim). */
export type ChangeAction = 'create' | 'update' | 'delete';
export type ChangeType = 'target' | 'delegation' | 'role' | 'witness';

export interface Change {
  readonly action: string;
  /** The scope: `targets`, a delegation, or `root`. */
  readonly role: string;
  readonly type: string;
  /** Target name for target changes, role name for root changes, else empty. */
  readonly path: string;
  /** Payload (FileMeta JSON, delegation JSON, ...) or null. */
  readonly data: Buffer | null;
}

export interface StoredChange extends Change {
  /** File name inside the changelist directory. */
  readonly file: string;
}

/** The Go encoding of a change: struct order, HTML-escaped strings, base64 data. */
export function encodeChange(c: Change): Buffer {
  return Buffer.from(
    `{"action":${goJsonString(c.action)},"role":${goJsonString(c.role)},"type":${goJsonString(c.type)},` +
      `"path":${goJsonString(c.path)},"data":${c.data === null ? 'null' : `"${c.data.toString('base64')}"`}}`,
    'utf8',
  );
}

/**
 * Parse a change file body as Go's json.Unmarshal into TUFChange would
 * (member names match case-insensitively; missing strings are empty).
 * @throws {DeserializationError} naming the file and field.
 */
export function parseChange(bytes: Uint8Array | string, file: string): Change {
  const doc = parseJson(bytes, `change file ${file}`);
  if (!isJSONObject(doc)) throw new DeserializationError(file, 'a change must be a JSON object');
  // The members as Go writes them (the usual case) are read directly; any other spelling takes
  // Go's case-insensitive match, which costs an entries walk per member.
  const keys = Object.keys(doc);
  const exact = keys.every((k) => CHANGE_MEMBERS.has(k));
  const get = (name: string): unknown => {
    if (exact) return Object.hasOwn(doc, name) ? doc[name] : undefined;
    for (const k of keys) if (k.toLowerCase() === name) return doc[k];
    return undefined;
  };
  const str = (name: string): string => {
    const v = get(name);
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new DeserializationError(`${file}: ${name}`, 'must be a string');
    return v;
  };
  const rawData = get('data');
  let data: Buffer | null = null;
  if (typeof rawData === 'string') data = decodeBase64Strict(rawData, `${file}: data`);
  else if (rawData !== undefined && rawData !== null) throw new DeserializationError(`${file}: data`, 'must be base64 text or null');
  return { action: str('action'), role: str('role'), type: str('type'), path: str('path'), data };
}

const NON_ASCII = /[^\u0000-\u007f]/;
const CHANGE_MEMBERS = new Set(['action', 'role', 'type', 'path', 'data']);

let lastNanos = 0n;

/** Unix time in nanoseconds, strictly increasing within this process so changes keep their order. */
function nowNanos(): bigint {
  const wall = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor((performance.now() % 1) * 1e6));
  lastNanos = wall > lastNanos ? wall : lastNanos + 1n;
  return lastNanos;
}

export function changeFileName(nanos: bigint, uuid: string = randomUUID()): string {
  return `${nanos.toString().padStart(20, '0')}_${uuid}.change`;
}

/**
 * One unlink syscall; ENOENT is fine (already gone). rmSync(force) costs an
 * lstat and its JS wrapper on top: 1,000 files took 53-330 ms against 36-65 ms
 * (async unlinks in parallel were no faster on two cores).
 */
function unlinkIfPresent(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw cause;
  }
}

/** Bytes of a listed entry that is not a regular file (a symlink, a FIFO): opened non-blocking, so a FIFO reads as empty at once. */
function readNonBlocking(file: string): Buffer {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class FileChangelist {
  constructor(readonly dir: string) {}

  /** Path of a listed file: readdir names hold no separator, so no path.join normalisation (~6 µs a file). */
  #path(file: string): string {
    return `${this.dir}${path.sep}${file}`;
  }

  /**
   * A change file's text. Node reads UTF-8 text in one native call, ~3 µs a file faster than
   * bytes plus a decoder, but replaces invalid bytes with U+FFFD: text holding U+FFFD is read
   * again as bytes, for the strict decoder to refuse or accept.
   */
  #read(file: string, regular: boolean): string | Buffer {
    if (!regular) return readNonBlocking(this.#path(file));
    const text = fs.readFileSync(this.#path(file), 'utf8');
    return text.includes('\uFFFD') ? fs.readFileSync(this.#path(file)) : text;
  }

  static forGun(trustDir: string, gun: string): FileChangelist {
    return new FileChangelist(changelistDir(trustDir, gun));
  }

  /** Regular files of the directory in name order (notary's listing). */
  fileNames(): string[] {
    return this.#listing().names;
  }

  /** The listing, and which of its entries are not regular files (symlinks, FIFOs). */
  #listing(): { readonly names: string[]; readonly special: ReadonlySet<string> } {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(this.dir, { withFileTypes: true });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { names: [], special: new Set() };
      const inTheWay = fileInTheWay(this.dir, 'directory', cause, `list the staged changes in ${this.dir}`);
      if (inTheWay !== undefined) throw inTheWay;
      const code = (cause as NodeJS.ErrnoException).code ?? String(cause);
      throw new TrustDirError(`cannot list the staged changes in ${this.dir} (${code}); it must be a directory you can read: move aside whatever is at that path`, { cause });
    }
    const names = entries.filter((e) => !e.isDirectory()).map((e) => e.name);
    const special = new Set(entries.filter((e) => !e.isDirectory() && !e.isFile()).map((e) => e.name));
    // Go sorts by bytes; for ASCII names (every name either tool writes) that is the default sort.
    if (names.every((n) => !NON_ASCII.test(n))) names.sort();
    else names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return { names, special };
  }

  /**
   * All staged changes in the order they will be applied.
   * @throws {DeserializationError} for a file that is not a change, naming it and its `reset -n` index.
   */
  list(): StoredChange[] {
    const { names, special } = this.#listing();
    return names.map((file, index) => {
      try {
        return { ...parseChange(this.#read(file, !special.has(file)), file), file };
      } catch (cause) {
        const remedy = `remove it with \`reset <gun> -n ${index}\``;
        if (cause instanceof DeserializationError) throw new DeserializationError(file, `change #${index} in ${this.dir} is unreadable (${cause.message}); ${remedy}`, { cause });
        const code = (cause as NodeJS.ErrnoException).code;
        if (code === undefined) throw cause;
        throw new TrustDirError(`${file}: change #${index} in ${this.dir} cannot be read (${code}: not a readable file); ${remedy}`, { cause });
      }
    });
  }

  /** Stage a change; returns its file name. */
  add(change: Change): string {
    return this.addAll([change])[0]!;
  }

  /**
   * Stage several changes, all or none (a delegation's keys and paths, a target for several
   * roles): every file is written and synced before the first is renamed into the directory, and
   * a failure removes what this call wrote. Returns the file names, in order.
   */
  addAll(changes: readonly Change[]): string[] {
    // Temp files sit beside the directory, never in it: notary lists every file there.
    const tmpDir = path.dirname(this.dir);
    const staged: Array<{ readonly file: string; readonly tmp: string }> = [];
    const moved: string[] = [];
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      for (const c of changes) {
        const file = changeFileName(nowNanos());
        staged.push({ file, tmp: writeTempFile(file, encodeChange(c), tmpDir) });
      }
      for (const s of staged) {
        fs.renameSync(s.tmp, this.#path(s.file));
        moved.push(s.file);
      }
    } catch (cause) {
      // best effort: the clean-up must not hide why staging failed
      for (const f of [...moved.map((m) => this.#path(m)), ...staged.map((s) => s.tmp)]) {
        try {
          fs.rmSync(f, { force: true });
        } catch {
          // left behind in the parent or the changelist; `status` shows a stray change file
        }
      }
      throw this.#ioError('stage changes in', cause);
    }
    return staged.map((s) => s.file);
  }

  #ioError(what: string, cause: unknown): TrustDirError {
    if (cause instanceof TrustDirError) return cause;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const where = (cause as NodeJS.ErrnoException | undefined)?.path ?? this.dir;
    const remedy = trustDirRemedy(code ?? 'unknown', this.dir);
    const after = what.startsWith('stage') ? '. Nothing was staged' : '; `status` shows what is still staged';
    const inTheWay = fileInTheWay(this.dir, 'directory', cause, `${what} the changelist ${this.dir}`, after);
    if (inTheWay !== undefined) return inTheWay;
    return new TrustDirError(`cannot ${what} the changelist ${this.dir}: ${where} (${code ?? String(cause)}); ${remedy}${after}`, { cause });
  }

  /**
   * Remove the changes at the given positions of the sorted listing.
   * @throws {UsageError} for an index that does not exist (notary ignores it silently).
   */
  remove(indexes: readonly number[]): void {
    const files = this.fileNames();
    for (const i of indexes) {
      if (!Number.isInteger(i) || i < 0 || i >= files.length) {
        throw new UsageError(`there is no change #${i}: ${files.length} change(s) are staged (numbered from 0, see \`status\`)`);
      }
    }
    try {
      for (const i of new Set(indexes)) unlinkIfPresent(this.#path(files[i]!));
    } catch (cause) {
      throw this.#ioError('remove changes from', cause);
    }
  }

  /** Remove every staged change. */
  clear(): void {
    try {
      for (const f of this.fileNames()) unlinkIfPresent(this.#path(f));
    } catch (cause) {
      throw this.#ioError('remove changes from', cause);
    }
  }

  /**
   * Remove exactly the change files a publish applied, leaving changes staged meanwhile. Never
   * throws: it runs after the server accepted them, so a file that cannot be removed is returned
   * (with its errno) for the caller to report.
   */
  removeFiles(files: readonly string[]): Array<{ readonly file: string; readonly code: string }> {
    const stuck: Array<{ file: string; code: string }> = [];
    for (const f of files) {
      try {
        unlinkIfPresent(this.#path(path.basename(f)));
      } catch (cause) {
        stuck.push({ file: path.basename(f), code: (cause as NodeJS.ErrnoException).code ?? String(cause) });
      }
    }
    return stuck;
  }
}

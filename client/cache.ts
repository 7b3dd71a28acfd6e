// SPDX-License-Identifier: Apache-2.0
// The local metadata cache `<trust_dir>/tuf/<gun>/metadata/<role>.json`
// (delegations below `targets/`), holding the exact bytes downloaded or
// published, as notary's cache does, so both tools can share a trust dir.
// Nothing read from here is trusted by itself: callers feed it through the
// verifier like any download. Writes are atomic (temp + fsync + rename);
// `writeMany` renames all files only after every temp file is written, so a
// failure leaves the previous cache in place.

import fs from 'node:fs';
import path from 'node:path';
import { TrustDirError } from '../shared/errors.js';
import { fileInTheWay, trustDirRemedy } from '../keys/index.js';
import { writeFileAtomic } from './atomic-file.js';
import { metadataDir, roleFile } from './trust-dir.js';

/**
 * Create a temp file that must not exist. One that does was left by a run that died (the name holds
 * our PID, so its writer is gone): it is removed and the create tried once more, still exclusively,
 * so a planted symlink is never followed.
 */
function openNew(tmp: string): number {
  try {
    return fs.openSync(tmp, 'wx', 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') throw cause;
    fs.unlinkSync(tmp);
    return fs.openSync(tmp, 'wx', 0o600);
  }
}

/** Clean-up after a failed write: best effort, so it cannot hide why the write failed. */
function removeQuietly(files: readonly string[]): void {
  for (const f of files) {
    try {
      fs.rmSync(f, { force: true });
    } catch {
      // left behind: the next write of that role replaces it (openNew)
    }
  }
}

const errnoOf = (cause: unknown): string => (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);

export class MetadataCache {
  readonly dir: string;

  constructor(trustDir: string, readonly gun: string) {
    this.dir = metadataDir(trustDir, gun);
  }

  /** The file a role is cached in. @throws {UsageError} for a role name that is not path-safe. */
  fileOf(role: string): string {
    return roleFile(this.dir, role);
  }

  /**
   * Cached bytes of a role, or null when not cached.
   * @throws {TrustDirError} when the path exists but cannot be read (a directory, no permission).
   */
  read(role: string): Buffer | null {
    const file = this.fileOf(role);
    try {
      return fs.readFileSync(file);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
      const inTheWay = fileInTheWay(file, 'file', cause, `read the cached ${role} of ${this.gun}`, '; the next online command downloads and verifies it again');
      if (inTheWay !== undefined) throw inTheWay;
      throw new TrustDirError(
        `cannot read the cached ${role} of ${this.gun}, ${file} (${errnoOf(cause)}); it must be a file you can read: move it away and the next online command downloads and verifies it again`,
        { cause },
      );
    }
  }

  write(role: string, bytes: Uint8Array): void {
    const file = this.fileOf(role);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, bytes);
  }

  /** Write several roles; all temp files are complete before the first rename. */
  writeMany(files: ReadonlyMap<string, Uint8Array>): void {
    // Resolve every name first so a bad role fails before anything is written.
    const planned = [...files].map(([role, bytes], i) => {
      const file = this.fileOf(role);
      return { file, bytes, tmp: `${file}.${process.pid}.${i}.tmp` };
    });
    const written: string[] = [];
    try {
      for (const p of planned) {
        fs.mkdirSync(path.dirname(p.file), { recursive: true, mode: 0o700 });
        const fd = openNew(p.tmp);
        written.push(p.tmp);
        try {
          fs.writeSync(fd, p.bytes);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      }
    } catch (cause) {
      removeQuietly(written);
      throw this.#writeError(cause);
    }
    try {
      for (const p of planned) fs.renameSync(p.tmp, p.file);
    } catch (cause) {
      removeQuietly(written);
      throw this.#writeError(cause);
    }
  }

  #writeError(cause: unknown): TrustDirError {
    const where = (cause as NodeJS.ErrnoException | undefined)?.path ?? this.dir;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    // a failed mkdir names a directory; a failed open or rename names a file (or the directory above it)
    const inTheWay = fileInTheWay(where, (cause as NodeJS.ErrnoException | undefined)?.syscall === 'mkdir' ? 'directory' : 'file', cause, `write the metadata cache of ${this.gun}`);
    if (inTheWay !== undefined) return inTheWay;
    return new TrustDirError(`cannot write the metadata cache of ${this.gun} at ${where} (${errnoOf(cause)}); ${trustDirRemedy(code, this.dir)}`, { cause });
  }

  /**
   * Cache what the server has just accepted (and drop `removed` roles). The server already holds
   * it, so a local failure is returned as a warning instead of failing the command: nothing read
   * from here is trusted by itself, and the next command downloads what the cache lacks.
   */
  recordAccepted(files: ReadonlyMap<string, Uint8Array>, removed: Iterable<string> = []): string | undefined {
    try {
      this.writeMany(files);
      for (const role of removed) this.remove(role);
      return undefined;
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      return `the server accepted the update of ${this.gun}, but the local cache in ${this.dir} could not be updated (${why}); the next command downloads it again`;
    }
  }

  remove(role: string): void {
    fs.rmSync(this.fileOf(role), { force: true });
  }

  /** Drop the whole cache of this GUN (e.g. after the server lost its data). */
  clear(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// SPDX-License-Identifier: Apache-2.0
// The local metadata cache `<trust_dir>/tuf/<gun>/metadata/<role>.json`
// (delegations below `targets/`), holding the exact bytes downloaded or
// published, as notary's cache does, so both tools can share a trust dir.
// Nothing read from here is trusted by itself: callers feed it through the
// verifier like any download. Writes are atomic (temp + fsync + rename);
// `writeMany` renames all files only after every temp file is written, so a
// failure leaves the previous cache in place; `writeManyAfter` does the same
// around an upload, renaming only once the server has accepted it.

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { metadataDir, roleFile } from './trust-dir.js';

interface PlannedWrite {
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly tmp: string;
}

function removeTemps(planned: readonly PlannedWrite[]): void {
  for (const p of planned) fs.rmSync(p.tmp, { force: true });
}

/**
 * Every temp file written and synced, on libuv's threads; on failure none is left.
 * (fs.promises, not node:fs/promises: the getter loads it, with readline, only when used.)
 */
async function writeTemps(planned: readonly PlannedWrite[]): Promise<void> {
  const results = await Promise.allSettled(
    planned.map(async (p) => {
      await fs.promises.mkdir(path.dirname(p.file), { recursive: true, mode: 0o700 });
      const handle = await fs.promises.open(p.tmp, 'wx', 0o600);
      try {
        await handle.writeFile(p.bytes);
        await handle.sync();
      } catch (cause) {
        await handle.close();
        await fs.promises.rm(p.tmp, { force: true });
        throw cause;
      }
      await handle.close();
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    // Only the temp files written here: one that failed to open ('wx') belongs to someone else.
    for (const [i, r] of results.entries()) if (r.status === 'fulfilled') fs.rmSync(planned[i]!.tmp, { force: true });
    throw failed.reason;
  }
}

export class MetadataCache {
  readonly dir: string;

  constructor(trustDir: string, readonly gun: string) {
    this.dir = metadataDir(trustDir, gun);
  }

  /** The file a role is cached in. @throws {UsageError} for a role name that is not path-safe. */
  fileOf(role: string): string {
    return roleFile(this.dir, role);
  }

  /** Cached bytes of a role, or null when not cached. */
  read(role: string): Buffer | null {
    try {
      return fs.readFileSync(this.fileOf(role));
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw cause;
    }
  }

  write(role: string, bytes: Uint8Array): void {
    const file = this.fileOf(role);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, bytes);
  }

  /** Where each role goes, and its temp file beside it. Resolves every name first, so a bad role fails before anything is written. */
  #plan(files: ReadonlyMap<string, Uint8Array>): PlannedWrite[] {
    return [...files].map(([role, bytes], i) => {
      const file = this.fileOf(role);
      return { file, bytes, tmp: `${file}.${process.pid}.${i}.tmp` };
    });
  }

  /** Write several roles; all temp files are complete before the first rename. */
  async writeMany(files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    await this.writeManyAfter(files, async () => undefined);
  }

  /**
   * writeMany around `upload`: the temp files are written and synced while it runs
   * (a publish's upload waits ~40 ms on the server), renamed in only when it succeeds, and
   * removed when it fails, leaving the cache as it was.
   * @returns what `upload` returns. @throws what `upload` throws, or the write's error after a successful upload.
   */
  async writeManyAfter<T>(files: ReadonlyMap<string, Uint8Array>, upload: () => Promise<T>): Promise<T> {
    const planned = this.#plan(files);
    const staged = writeTemps(planned);
    staged.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    let result: T;
    try {
      result = await upload();
    } catch (e) {
      await staged.then(() => removeTemps(planned), () => undefined);
      throw e;
    }
    await staged;
    for (const p of planned) fs.renameSync(p.tmp, p.file);
    return result;
  }

  remove(role: string): void {
    fs.rmSync(this.fileOf(role), { force: true });
  }

  /** Drop the whole cache of this GUN (e.g. after the server lost its data). */
  clear(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// SPDX-License-Identifier: Apache-2.0
// One process per embedded data directory. PGlite has no postmaster to stop a
// second process from opening the same files, and two writers corrupt them,
// so the store holds `signet.lock` (the owner's PID) while open. A lock left
// by a killed process (PID no longer alive) is taken over.

import fs from 'node:fs';
import path from 'node:path';
import { StorageError } from '../../shared/errors.js';

export const LOCK_FILE = 'signet.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(lockPath: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(lockPath, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Take the lock of `dataDir` (which must exist).
 * @returns a function that releases it.
 * @throws {StorageError} when a live process holds it.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        if (readOwner(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StorageError('STORAGE', `cannot create ${lockPath}; check that --data-dir is writable by this user`, { cause: err });
      }
    }
    const owner = readOwner(lockPath);
    if (owner !== undefined && (owner === process.pid || isAlive(owner))) {
      const who = owner === process.pid ? 'this process (a store is already open on it)' : `process ${owner}`;
      throw new StorageError('STORAGE', `the data directory ${dataDir} is in use by ${who}; stop that server or choose another --data-dir`);
    }
    // Stale (owner gone, or the file half-written): re-check just before removing to narrow the race with another taker.
    if (readOwner(lockPath) === owner) fs.rmSync(lockPath, { force: true });
  }
  throw new StorageError('STORAGE', `could not take ${lockPath}; another process keeps replacing it, stop the other server using --data-dir ${dataDir}`);
}

// SPDX-License-Identifier: Apache-2.0
// One process per embedded data directory. PGlite has no postmaster to stop a
// second process from opening the same files, and two writers corrupt them,
// so the store holds `signet.lock` while open: the owner's PID and, on Linux,
// its start time (`<pid> <starttime>`). A lock left by a killed process is
// taken over: its PID is no longer alive, or it is alive but started at
// another time. The start time matters in containers, where the server is
// PID 1 after every restart and a lock left by a killed container would
// otherwise name a live process (itself).

import fs from 'node:fs';
import path from 'node:path';
import { StorageError } from '../../shared/errors.js';

export const LOCK_FILE = 'signet.lock';

interface LockOwner {
  readonly pid: number;
  /** /proc start time; undefined in a lock written without one (no /proc, or an older Signet). */
  readonly startTime: string | undefined;
}

/**
 * Start time of `pid` in clock ticks after boot (field 22 of /proc/<pid>/stat), or undefined
 * where there is no /proc (not Linux) or no such process.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) is parenthesised and may hold spaces and ')': count from after the last ')', where field 3 starts.
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/**
 * What to do about a failed file operation on the data directory, by its errno: a full disk or
 * a read-only file system is not a permission problem.
 */
export function dataDirRemedy(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk is full (${code}); free some space on it or choose another --data-dir`;
    case 'EROFS':
      return 'the file system is read-only (EROFS); mount it read-write or choose a writable --data-dir';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code}); check that --data-dir is writable by this user`;
    default:
      return `${code ?? 'error'}; check --data-dir and its permissions`;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(lockPath: string): string | undefined {
  try {
    return fs.readFileSync(lockPath, 'utf8');
  } catch {
    return undefined;
  }
}

function parseOwner(text: string | undefined): LockOwner | undefined {
  const m = /^(\d+)(?:\s+(\d+))?$/.exec((text ?? '').trim());
  if (m === null) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? { pid, startTime: m[2] } : undefined;
}

/** Whether the process that wrote the lock still runs (when unsure: yes). */
function holds(owner: LockOwner, self: LockOwner): boolean {
  if (owner.pid !== self.pid && !isAlive(owner.pid)) return false;
  if (owner.startTime === undefined) return true;
  const current = owner.pid === self.pid ? self.startTime : processStartTime(owner.pid);
  // A live PID that started at another time is a reused PID, not the lock's writer.
  return current === undefined || current === owner.startTime;
}

/**
 * Take the lock of `dataDir` (which must exist).
 * @returns a function that releases it.
 * @throws {StorageError} when a live process holds it.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = path.join(dataDir, LOCK_FILE);
  const self: LockOwner = { pid: process.pid, startTime: processStartTime(process.pid) };
  const record = self.startTime === undefined ? `${self.pid}\n` : `${self.pid} ${self.startTime}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, record, { flag: 'wx', mode: 0o600 });
      return () => {
        if (readLock(lockPath) === record) fs.rmSync(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StorageError('STORAGE', `cannot create ${lockPath}: ${dataDirRemedy(err)}`, { cause: err });
      }
    }
    const text = readLock(lockPath);
    const owner = parseOwner(text);
    if (owner !== undefined && holds(owner, self)) {
      const who = owner.pid === self.pid ? 'this process (a store is already open on it)' : `process ${owner.pid}`;
      throw new StorageError('STORAGE', `the data directory ${dataDir} is in use by ${who}; stop that server or choose another --data-dir`);
    }
    // Stale (owner gone, PID reused, or the file half-written): re-check just before removing to narrow the race with another taker.
    if (readLock(lockPath) === text) fs.rmSync(lockPath, { force: true });
  }
  throw new StorageError('STORAGE', `could not take ${lockPath}; another process keeps replacing it, stop the other server using --data-dir ${dataDir}`);
}

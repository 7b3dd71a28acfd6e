// SPDX-License-Identifier: Apache-2.0
// Atomic file replacement: readers (signet or notary) see the old file or the
// new one, never a partial write. The temp file must be on the same
// filesystem as the target, so it goes in the target's directory unless the
// caller names another one (the changelist must not see temp files).

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Write `bytes` to a new temp file for `name` in `tmpDir` (mode 0600) and fsync it; returns its path. */
export function writeTempFile(name: string, bytes: Uint8Array, tmpDir: string): string {
  fs.mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  const tmp = path.join(tmpDir, `.${name}.${randomUUID()}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } catch (cause) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw cause;
  }
  fs.closeSync(fd);
  return tmp;
}

/** Write `bytes` to `file` (mode 0600): temp file in `tmpDir`, fsync, rename over `file`. */
export function writeFileAtomic(file: string, bytes: Uint8Array, tmpDir = path.dirname(file)): void {
  const tmp = writeTempFile(path.basename(file), bytes, tmpDir);
  try {
    fs.renameSync(tmp, file);
  } catch (cause) {
    fs.rmSync(tmp, { force: true });
    throw cause;
  }
}

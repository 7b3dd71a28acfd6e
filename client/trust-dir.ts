// SPDX-License-Identifier: Apache-2.0
// Where a GUN's files live inside a trust directory, as notary lays them out:
//   <trust_dir>/tuf/<gun>/metadata/<role>.json   (GUN and role slashes become directories)
//   <trust_dir>/tuf/<gun>/changelist/<change files>
// SECURITY: notary joins the GUN into the path unchecked (`..` would escape the
// trust directory); here a GUN or role whose segments are empty, `.`, `..`, or
// hold a backslash or NUL is refused before any path is built.

import path from 'node:path';
import { UsageError } from '../shared/errors.js';

const BAD_SEGMENT = /^(?:|\.|\.\.)$|[\\\u0000]/;

function assertPathSafe(kind: 'GUN' | 'role', name: string): void {
  if (name.startsWith('/') || name.split('/').some((s) => BAD_SEGMENT.test(s))) {
    throw new UsageError(`${kind} ${JSON.stringify(name)} cannot be used as a path: it must be slash-separated names without empty, "." or ".." parts`);
  }
}

/** `<trust_dir>/tuf/<gun>`. @throws {UsageError} for a GUN that is not path-safe. */
export function gunDir(trustDir: string, gun: string): string {
  assertPathSafe('GUN', gun);
  return path.join(trustDir, 'tuf', ...gun.split('/'));
}

export function metadataDir(trustDir: string, gun: string): string {
  return path.join(gunDir(trustDir, gun), 'metadata');
}

export function changelistDir(trustDir: string, gun: string): string {
  return path.join(gunDir(trustDir, gun), 'changelist');
}

/** File of a role's cached metadata below a metadata directory. @throws {UsageError} for a role that is not path-safe. */
export function roleFile(metaDir: string, role: string): string {
  assertPathSafe('role', role);
  return path.join(metaDir, ...`${role}.json`.split('/'));
}

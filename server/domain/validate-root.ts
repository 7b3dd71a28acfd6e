// SPDX-License-Identifier: Apache-2.0
// Steps 1-4 of a publish (notary-wire.md §7): the root the rest of the update
// is judged against. An uploaded root must be the stored version or the next
// one (checked before any signature, like notary; with nothing stored a first
// root may be version 1 or 2) and pass the shared root check against the
// stored root (rotation signed by the old root keys and by its own). Without
// an uploaded root the stored one is used as is (its expiry is not judged).

import { BadVersionError } from '../../shared/errors.js';
import type { Root } from '../../shared/tuf/model.js';
import { verifyRootUpdate } from '../../shared/verify/root.js';
import type { RootKeyRules } from '../../shared/verify/root-key-rules.js';
import { UpdateRefusalError } from './errors.js';
import type { Uploaded } from './parse-parts.js';
import type { LoadedRole, RepoView } from './repo-view.js';

export interface RootCheckContext {
  readonly gun: string;
  readonly now: Date;
  readonly rules: RootKeyRules;
}

/** Notary counts a missing root as version 1, so a first root may be version 1 or 2. */
const VERSION_OF_NO_ROOT = 1;

/**
 * The root this update is judged against: the uploaded one once validated, else the stored one.
 * @throws {UpdateRefusalError} ErrBadRoot for a bad root; ErrValidation NO_ROOT when there is none at all.
 */
export async function validateRoot(view: RepoView, uploaded: Uploaded<Root> | null, ctx: RootCheckContext): Promise<LoadedRole<'root'>> {
  const stored = await view.load('root', 'root');
  if (uploaded === null) {
    if (stored !== null) return stored;
    throw new UpdateRefusalError(
      'ErrValidation',
      'NO_ROOT',
      `no pre-existing root and no root provided in update: ${ctx.gun} has no metadata yet, so its first publish must include root.json`,
    );
  }

  const current = stored?.envelope.signed.version ?? VERSION_OF_NO_ROOT;
  const next = uploaded.envelope.signed.version;
  if (next !== current && next !== current + 1) {
    const code = next < current ? 'VERSION_ROLLBACK' : 'VERSION_JUMP';
    throw new UpdateRefusalError(
      'ErrBadRoot',
      code,
      `root modifications must increment the version: current ${current}, new ${next}; publish root version ${current + 1}`,
      { role: 'root', cause: new BadVersionError(code, `root version ${next} after ${current}`) },
    );
  }
  try {
    verifyRootUpdate(stored?.envelope ?? null, uploaded.envelope, { gun: ctx.gun, now: ctx.now, rules: ctx.rules, versionSteps: [0, 1], final: true });
  } catch (error) {
    throw UpdateRefusalError.wrap('ErrBadRoot', 'root', error);
  }
  return { role: 'root', data: uploaded.data, envelope: uploaded.envelope, source: 'upload' };
}

// SPDX-License-Identifier: Apache-2.0
// Where tests find things. Tests run from the repository root (`npm test`),
// and the reference fixtures sit beside the repository in ../shared.
import path from 'node:path';

export const REPO_ROOT = process.env.SIGNET_REPO ?? process.cwd();
export const FIXTURES = process.env.SIGNET_FIXTURES ?? path.resolve(REPO_ROOT, '..', 'shared', 'reference', 'fixtures');
export const fixture = (...parts: string[]): string => path.join(FIXTURES, ...parts);

/** The instant the fixtures are valid at (their README: made 2026-11-22T18:59Z, timestamp expires 2026-12-06T18:59Z). */
export const FIXTURE_NOW = new Date('2026-11-23T12:00:00Z');

// SPDX-License-Identifier: Apache-2.0
// Shared helpers for the Notary codec tests: fixture files, mutation of their
// JSON, and an assertion on DeserializationError field paths and codes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DeserializationError, type ErrorCode } from '../../../shared/errors.js';
import type { SignedType } from '../../../shared/tuf/model.js';
import { fixture } from '../../support/paths.js';

export interface FixtureFile {
  /** Path relative to the fixtures folder. */
  readonly name: string;
  readonly type: SignedType;
  /** Role the file belongs to (for targets files). */
  readonly role: string;
  readonly bytes: Buffer;
}

const TYPE_OF_ROLE: Record<string, SignedType> = { root: 'root', targets: 'targets', snapshot: 'snapshot', timestamp: 'timestamp' };

function roleOf(rel: string): string {
  // `.../metadata/targets/releases.json` -> `targets/releases`; `1.root.json` -> `root`
  const m = /(?:^|\/)((?:targets\/)?[^/]+)\.json$/.exec(rel);
  const role = (m?.[1] ?? '').replace(/^\d+\./, '');
  return role;
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Every metadata file the brief names: fixtures/server/ role files and trust_dir caches. */
export function metadataFixtures(): FixtureFile[] {
  const server = ['root.json', '1.root.json', '2.root.json', 'targets.json', 'targets/releases.json', 'targets/jenkins.json', 'snapshot.json', 'timestamp.json'].map(
    (f) => `server/${f}`,
  );
  const trust = walk(fixture('trust_dir'))
    .map((f) => path.relative(fixture(), f))
    .filter((f) => /\/tuf\/.*\/metadata\/.*\.json$/.test(f))
    .sort();
  return [...server, ...trust].map((name) => {
    const role = roleOf(name);
    const type = TYPE_OF_ROLE[role.startsWith('targets/') ? 'targets' : role];
    assert.ok(type, `no type for ${name}`);
    return { name, type, role, bytes: fs.readFileSync(fixture(name)) };
  });
}

export function readFixture(name: string): Buffer {
  return fs.readFileSync(fixture(name));
}

// JSON trees of fixtures are mutated as plain objects.
export type Tree = Record<string, any>; // test-only: deep edits of untyped JSON

/** Parse a fixture, let `f` change its JSON, and return the new bytes. */
export function mutate(name: string, f: (doc: Tree) => void): Buffer {
  const doc = JSON.parse(readFixture(name).toString('utf8')) as Tree;
  f(doc);
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** Assert `fn` throws a DeserializationError at `field` with `code`. */
export function assertRejects(fn: () => unknown, field: string, code: ErrorCode = 'INVALID_FIELD', message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DeserializationError, `expected DeserializationError, got ${String(e)}`);
    assert.equal(e.field, field, `field of: ${e.message}`);
    assert.equal(e.code, code, `code of: ${e.message}`);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}
